package registry

import (
	"strings"
	"testing"
	"time"
)

// Parsing a challenge is linear in its length: 1 MB of "a=b," parameters
// (250,000 of them) takes milliseconds, not the minute a parser that copies
// the rest of the header per parameter takes.
func TestParseChallengeIsLinear(t *testing.T) {
	header := `Bearer realm="https://auth.example/token",` + strings.Repeat("a=b,", 250000) + `service="reg"`
	done := make(chan error, 1)
	start := time.Now()
	var ch *challenge
	go func() {
		var err error
		ch, err = parseChallenge([]string{header})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("parsing a 1 MB challenge took over 5 s")
	}
	t.Logf("1 MB challenge parsed in %s", time.Since(start))
	if ch.params["realm"] != "https://auth.example/token" || ch.params["service"] != "reg" || ch.params["a"] != "b" {
		t.Fatalf("params %v", ch.params)
	}
}

// The parser keeps its grammar: quoted strings with escapes, tokens,
// spaces around "=" and ",", several challenges in one header.
func TestParseChallengeGrammar(t *testing.T) {
	for _, tc := range []struct {
		in     []string
		scheme string
		params map[string]string
	}{
		{[]string{`Bearer realm="https://a/t",service="s",scope="repository:x:pull"`}, "bearer", map[string]string{"realm": "https://a/t", "service": "s", "scope": "repository:x:pull"}},
		{[]string{`Basic realm="re\"g\\ion"`}, "basic", map[string]string{"realm": `re"g\ion`}},
		{[]string{`Bearer  realm = "https://a/t" , service=s ,,error=insufficient_scope`}, "bearer", map[string]string{"realm": "https://a/t", "service": "s", "error": "insufficient_scope"}},
		{[]string{`Negotiate abc`, `BASIC Realm=x`}, "basic", map[string]string{"realm": "x"}},
		{[]string{`Bearer realm="https://a/t",scope="a,b"`}, "bearer", map[string]string{"realm": "https://a/t", "scope": "a,b"}},
	} {
		ch, err := parseChallenge(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if ch.scheme != tc.scheme || len(ch.params) != len(tc.params) {
			t.Errorf("%q: %s %v, want %s %v", tc.in, ch.scheme, ch.params, tc.scheme, tc.params)
			continue
		}
		for k, v := range tc.params {
			if ch.params[k] != v {
				t.Errorf("%q: %s=%q, want %q", tc.in, k, ch.params[k], v)
			}
		}
	}
	for _, bad := range [][]string{{`Bearer realm="unterminated`}, {`Bearer service=s`}, {`Digest realm=x`}} {
		if _, err := parseChallenge(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
