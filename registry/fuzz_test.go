package registry

import "testing"

// FuzzChallenge: WWW-Authenticate values come from registries we do not control.
func FuzzChallenge(f *testing.F) {
	f.Add(`Bearer realm="https://a/token",service="s",scope="repository:a:pull"`)
	f.Add(`Basic realm="x"`)
	f.Add(`Bearer realm="\"`)
	f.Fuzz(func(t *testing.T, v string) {
		ch, err := parseChallenge([]string{v})
		if err == nil && ch.scheme == "bearer" && ch.params["realm"] == "" {
			t.Fatal("bearer challenge without realm accepted")
		}
	})
}

// FuzzNextLink: Link headers must never lead to another host.
func FuzzNextLink(f *testing.F) {
	f.Add(`</v2/_catalog?last=b&n=2>; rel="next"`)
	f.Add(`<http://evil.example/x>; rel="next"`)
	f.Fuzz(func(t *testing.T, link string) {
		next, err := nextLink("http://r.example:5000/v2/_catalog?n=2", []string{link})
		if err == nil && next != "" && !hasHost(next, "r.example:5000") {
			t.Fatalf("followed %q to %q", link, next)
		}
	})
}

func hasHost(u, host string) bool {
	return len(u) > len("http://"+host) && u[:len("http://"+host)] == "http://"+host && (u[len("http://"+host)] == '/' || u[len("http://"+host)] == '?')
}
