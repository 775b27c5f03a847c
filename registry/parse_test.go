package registry

import (
	"net/http"
	"testing"
	"time"
)

func TestParseChallenge(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		scheme  string
		params  map[string]string
		wantErr bool
	}{
		{[]string{`Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"`},
			"bearer", map[string]string{"realm": "https://auth.example.com/token", "service": "registry.example.com", "scope": "repository:a/b:pull"}, false},
		{[]string{`Basic realm="Registry Realm"`}, "basic", map[string]string{"realm": "Registry Realm"}, false},
		{[]string{`Negotiate`, `bearer realm=https://a/t, service=x`}, "bearer", map[string]string{"realm": "https://a/t", "service": "x"}, false},
		{[]string{`Bearer realm="with \"quotes\"",service="s"`}, "bearer", map[string]string{"realm": `with "quotes"`, "service": "s"}, false},
		{[]string{`Bearer service="no realm"`}, "", nil, true},
		{[]string{`Bearer realm="unterminated`}, "", nil, true},
		{[]string{`Digest realm="x"`}, "", nil, true},
		{nil, "", nil, true},
	} {
		ch, err := parseChallenge(tc.in)
		if tc.wantErr {
			if err == nil {
				t.Errorf("%q: no error", tc.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if ch.scheme != tc.scheme {
			t.Errorf("%q: scheme %q", tc.in, ch.scheme)
		}
		for k, v := range tc.params {
			if ch.params[k] != v {
				t.Errorf("%q: %s = %q, want %q", tc.in, k, ch.params[k], v)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("3"); d != 3*time.Second {
		t.Errorf("seconds: %v", d)
	}
	if d := retryAfter(time.Now().Add(5 * time.Second).UTC().Format(http.TimeFormat)); d < 3*time.Second || d > 6*time.Second {
		t.Errorf("HTTP date: %v", d)
	}
	for _, v := range []string{"", "-1", "soon", time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)} {
		if d := retryAfter(v); d != 0 {
			t.Errorf("%q: %v, want 0", v, d)
		}
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	for attempt := range 20 {
		ceiling := min(100*time.Millisecond<<attempt, 10*time.Second)
		for range 20 {
			d := backoff(attempt)
			if d < ceiling/2 || d >= ceiling+ceiling/2 {
				t.Fatalf("attempt %d: %v outside [%v, %v)", attempt, d, ceiling/2, ceiling+ceiling/2)
			}
		}
	}
}

func TestNextLink(t *testing.T) {
	cur := "http://r.example:5000/v2/_catalog?n=2"
	got, err := nextLink(cur, []string{`</v2/_catalog?last=b&n=2>; rel="next"`})
	if err != nil || got != "http://r.example:5000/v2/_catalog?last=b&n=2" {
		t.Errorf("relative link: %q, %v", got, err)
	}
	if got, err := nextLink(cur, nil); got != "" || err != nil {
		t.Errorf("no link: %q, %v", got, err)
	}
	if got, err := nextLink(cur, []string{`<http://r.example:5000/v2/_catalog?last=c>; rel="prev"`}); got != "" || err != nil {
		t.Errorf("prev link followed: %q, %v", got, err)
	}
	if _, err := nextLink(cur, []string{`<http://evil.example/v2/_catalog?last=b>; rel="next"`}); err == nil {
		t.Error("a link to another host was followed")
	}
	for _, tc := range []struct{ cur, link, want string }{
		{cur, `</v2/_catalog?last=b&n=2>; rel=next`, "http://r.example:5000/v2/_catalog?last=b&n=2"},
		{cur, `</v2/_catalog?last=b>;rel="next"`, "http://r.example:5000/v2/_catalog?last=b"},
		{cur, `<http://r.example:5000/v2/_catalog?last=b>; rel="next"`, "http://r.example:5000/v2/_catalog?last=b"},
		{cur, `</v2/x?a=1>; rel="prev", </v2/y?last=c,d>; type="a"; rel="next prefetch"`, "http://r.example:5000/v2/y?last=c,d"},
		{"https://quay.example/v2/t/tags/list?n=2", `<https://quay.example:443/v2/t/tags/list?last=x>; rel="next"`, "https://quay.example/v2/t/tags/list?last=x"},
		{"https://quay.example:443/v2/t/tags/list", `<https://quay.example/v2/t/tags/list?last=x>; rel=next`, "https://quay.example:443/v2/t/tags/list?last=x"},
	} {
		if got, err := nextLink(tc.cur, []string{tc.link}); err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.link, got, err, tc.want)
		}
	}
	for _, bad := range []string{`<https://r.example:5000/v2/x>; rel="next"`, `<http://r.example:5001/v2/x>; rel="next"`, `<http://r.example/v2/x>; rel="next"`} {
		if got, err := nextLink(cur, []string{bad}); err == nil {
			t.Errorf("%s followed to %q", bad, got)
		}
	}
}
