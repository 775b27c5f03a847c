package registry

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// quote writes a value as an RFC 9110 quoted-string, independently of the
// parser: every " and \ gets a backslash.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// FuzzChallenge: whatever realm, service and scope a registry sends, quoted
// as RFC 9110 says, parse back to the same values, whatever the spacing
// and order; and a Bearer challenge without a realm is never accepted.
func FuzzChallenge(f *testing.F) {
	f.Add("https://a/token", "s", "repository:a:pull", true, " ")
	f.Add(`with "quotes"`, `back\slash`, "", false, "")
	f.Add("", "svc", "x", true, "  ")
	f.Fuzz(func(t *testing.T, realm, service, scope string, realmFirst bool, space string) {
		for _, v := range []string{realm, service, scope, space} {
			if !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\x00") {
				return
			}
		}
		if strings.Trim(space, " \t") != "" {
			return
		}
		params := []string{"service=" + quote(service), "scope=" + quote(scope)}
		if realm != "" {
			r := "realm=" + quote(realm)
			if realmFirst {
				params = append([]string{r}, params...)
			} else {
				params = append(params, r)
			}
		}
		header := "Bearer " + strings.Join(params, ","+space)
		ch, err := parseChallenge([]string{header})
		if realm == "" {
			if err == nil {
				t.Fatalf("%q: bearer challenge without realm accepted", header)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", header, err)
		}
		want := map[string]string{"realm": realm, "service": service, "scope": scope}
		for k, v := range want {
			if ch.params[k] != v {
				t.Fatalf("%q: %s = %q, want %q", header, k, ch.params[k], v)
			}
		}
	})
}

// FuzzNextLink: a Link header is followed only to the same scheme, host
// and port (the default port written or not), and a followed link is the
// URL the header named.
func FuzzNextLink(f *testing.F) {
	f.Add(`</v2/_catalog?last=b&n=2>; rel="next"`)
	f.Add(`<http://evil.example/x>; rel="next"`)
	f.Add(`<http://r.example:5000/v2/t?n=1>; rel=next`)
	f.Fuzz(func(t *testing.T, link string) {
		const cur = "http://r.example:5000/v2/_catalog?n=2"
		next, err := nextLink(cur, []string{link})
		if err != nil || next == "" {
			return
		}
		u, perr := url.Parse(next)
		if perr != nil || u.Scheme != "http" || u.Host != "r.example:5000" {
			t.Fatalf("followed %q to %q", link, next)
		}
	})
}
