package apiserver

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"unicode/utf8"

	imagev1 "github.com/openshift/api/image/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzQuery: selectors, limits, resourceVersions and continue tokens come
// from any client. Properties that can fail:
//   - a refused query is an API Status of 400 or 422 (what clients expect),
//     never another error;
//   - an accepted query that says it is not filtered matches every image
//     with the one name it picks (or every image), whatever its labels,
//     since the catalog then counts and skips matching;
//   - a continue token that decodes names a start and a resourceVersion, and
//     encoding those again decodes to the same.
func FuzzQuery(f *testing.F) {
	f.Add("metadata.name=sha256:abc", "a=b,c!=d", "500", "0", encodeContinue(7, "sha256:abc"), "k", "v")
	f.Add("spec.foo=bar", "a in (b, c)", "-1", "NotOlderThan", "!!!", "a", "b")
	f.Add("", "", "", "", "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MCwic3RhcnQiOiIifQ", "", "")
	f.Add("metadata.name!=x", "!a", "1", "3", "", "a", "")
	f.Fuzz(func(t *testing.T, field, label, limit, rv, cont, labelKey, labelValue string) {
		v := url.Values{}
		v.Set("fieldSelector", field)
		v.Set("labelSelector", label)
		v.Set("limit", limit)
		v.Set("resourceVersion", rv)
		v.Set("continue", cont)
		r := httptest.NewRequest("GET", "/apis/image.openshift.io/v1/images?"+v.Encode(), nil)
		q, err := parseQuery(r, target{resource: resImages})
		if err != nil {
			var status apierrors.APIStatus
			if !errors.As(err, &status) {
				t.Fatalf("refused with %T %v, not an API Status", err, err)
			}
			if code := status.Status().Code; code != http.StatusBadRequest && code != http.StatusUnprocessableEntity {
				t.Fatalf("refused with code %d: %v", code, err)
			}
		} else if !q.filtered {
			name := q.name
			if name == "" {
				name = "sha256:fuzz"
			}
			img := &imagev1.Image{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{labelKey: labelValue}}}
			if !q.matchImage(img) {
				t.Fatalf("query %v says it is not filtered but does not match %s with labels %v", v, name, img.Labels)
			}
		}
		if c, err := decodeContinue(cont); err == nil {
			if c.Start == "" || c.ResourceVersion <= 0 {
				t.Fatalf("decodeContinue accepted %q as %+v", cont, c)
			}
			again, err := decodeContinue(encodeContinue(c.ResourceVersion, c.Start))
			if err != nil || again != c {
				t.Fatalf("token %+v re-encoded decodes to %+v, %v", c, again, err)
			}
		}
	})
}

// FuzzContinueRoundTrip: every start key and positive resourceVersion the
// server hands out as a token comes back unchanged. Start keys are image
// names and namespace/name pairs, always valid UTF-8 (JSON would replace
// anything else).
func FuzzContinueRoundTrip(f *testing.F) {
	f.Add(int64(1), "sha256:abc")
	f.Add(int64(1<<62), "ns/name\x00\u00ff")
	f.Fuzz(func(t *testing.T, rv int64, start string) {
		if rv <= 0 || start == "" || !utf8.ValidString(start) {
			return
		}
		c, err := decodeContinue(encodeContinue(rv, start))
		if err != nil {
			t.Fatalf("token of %d %q refused: %v", rv, start, err)
		}
		if c.ResourceVersion != rv || c.Start != start {
			t.Fatalf("token of %d %q came back as %d %q", rv, start, c.ResourceVersion, c.Start)
		}
	})
}
