package apiserver

import (
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzQuery: selectors, limits, resourceVersions and continue tokens come
// from any client; parsing must answer a query or an error, never panic,
// and a continue token that decodes must name a start and a resourceVersion.
func FuzzQuery(f *testing.F) {
	f.Add("metadata.name=sha256:abc", "a=b,c!=d", "500", "0", encodeContinue(7, "sha256:abc"))
	f.Add("spec.foo=bar", "a in (b, c)", "-1", "NotOlderThan", "!!!")
	f.Add("", "", "", "", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiIifQ")
	f.Fuzz(func(t *testing.T, field, label, limit, rv, cont string) {
		v := url.Values{}
		v.Set("fieldSelector", field)
		v.Set("labelSelector", label)
		v.Set("limit", limit)
		v.Set("resourceVersion", rv)
		v.Set("continue", cont)
		r := httptest.NewRequest("GET", "/apis/image.openshift.io/v1/images?"+v.Encode(), nil)
		_, _ = parseQuery(r, target{resource: resImages})
		if c, err := decodeContinue(cont); err == nil && (c.Start == "" || c.ResourceVersion <= 0) {
			t.Fatalf("decodeContinue accepted %q as %+v", cont, c)
		}
	})
}
