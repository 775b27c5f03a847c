package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// horizonReader is a catalog whose change log has dropped entries before
// oldest: a fault the catalog cannot produce today (it keeps its whole log).
type horizonReader struct {
	Reader
	oldest int64
}

func (h horizonReader) OldestResourceVersion(context.Context) (int64, error) { return h.oldest, nil }

func TestErrorsAreStatusObjects(t *testing.T) {
	f := newFixture(t, 6)
	_, ts := serve(t, f.reader, Options{Token: testToken})
	_, compacted := serve(t, horizonReader{Reader: f.reader, oldest: 4}, Options{})
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	name := allNames(t, f.reader)[0]
	missing := "sha256:" + strings.Repeat("0", 64)
	ctx := context.Background()
	rv, err := f.reader.ResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	future := encodeContinue(rv+100, name)

	tests := []struct {
		name, method, url string
		header            map[string]string
		code              int
		reason            metav1.StatusReason
		message           string // exact, or a prefix when it ends in "..."
	}{
		{"get missing", "GET", imagesPath + "/" + missing, auth, 404, metav1.StatusReasonNotFound,
			`images.image.openshift.io "` + missing + `" not found`},
		{"legacy get missing", "GET", "/oapi/v1/images/" + missing, auth, 404, metav1.StatusReasonNotFound,
			`images "` + missing + `" not found`},
		{"unknown path", "GET", "/apis/apps/v1/deployments", auth, 404, metav1.StatusReasonNotFound,
			"the server could not find the requested resource"},
		{"subresource", "GET", imagesPath + "/" + name + "/status", auth, 404, metav1.StatusReasonNotFound,
			"the server could not find the requested resource"},
		{"no token", "GET", imagesPath, nil, 401, metav1.StatusReasonUnauthorized, "Unauthorized"},
		{"wrong token", "GET", imagesPath, map[string]string{"Authorization": "Bearer nope"}, 401, metav1.StatusReasonUnauthorized, "Unauthorized"},
		{"basic auth", "GET", imagesPath, map[string]string{"Authorization": "Basic " + testToken}, 401, metav1.StatusReasonUnauthorized, "Unauthorized"},
		{"discovery needs the token", "GET", "/apis", nil, 401, metav1.StatusReasonUnauthorized, "Unauthorized"},
		{"create", "POST", imagesPath, auth, 405, metav1.StatusReasonMethodNotAllowed,
			`create is not supported on resources of kind "images.image.openshift.io"`},
		{"update", "PUT", imagesPath + "/" + name, auth, 405, metav1.StatusReasonMethodNotAllowed,
			`update is not supported on resources of kind "images.image.openshift.io"`},
		{"patch", "PATCH", imagesPath + "/" + name, auth, 405, metav1.StatusReasonMethodNotAllowed,
			`patch is not supported on resources of kind "images.image.openshift.io"`},
		{"delete", "DELETE", imagesPath + "/" + name, auth, 405, metav1.StatusReasonMethodNotAllowed,
			`delete is not supported on resources of kind "images.image.openshift.io"`},
		{"delete collection", "DELETE", imagesPath, auth, 405, metav1.StatusReasonMethodNotAllowed,
			`deletecollection is not supported on resources of kind "images.image.openshift.io"`},
		{"legacy create", "POST", "/oapi/v1/images", auth, 405, metav1.StatusReasonMethodNotAllowed,
			`create is not supported on resources of kind "images"`},
		{"create stream", "POST", "/apis/image.openshift.io/v1/namespaces/ns/imagestreams", auth, 405, metav1.StatusReasonMethodNotAllowed,
			`create is not supported on resources of kind "imagestreams.image.openshift.io"`},
		{"write discovery", "POST", "/apis", auth, 405, metav1.StatusReasonMethodNotAllowed,
			"the server does not allow this method on the requested resource"},
		{"unknown field selector", "GET", imagesPath + "?fieldSelector=spec.foo%3Dbar", auth, 400, metav1.StatusReasonBadRequest,
			`"spec.foo" is not a known field selector: only "metadata.name", "metadata.namespace"`},
		{"bad field selector", "GET", imagesPath + "?fieldSelector=metadata.name", auth, 400, metav1.StatusReasonBadRequest,
			`invalid selector: 'metadata.name'; can't understand 'metadata.name'`},
		{"bad label selector", "GET", imagesPath + "?labelSelector=a%3D%3D%3Db", auth, 400, metav1.StatusReasonBadRequest, "..."},
		{"name mismatch", "GET", imagesPath + "/" + name + "?watch=true&fieldSelector=metadata.name%3Dother", auth, 400, metav1.StatusReasonBadRequest,
			"fieldSelector metadata.name doesn't match requested name"},
		{"bad limit", "GET", imagesPath + "?limit=ten", auth, 400, metav1.StatusReasonBadRequest, "..."},
		{"bad resourceVersion", "GET", imagesPath + "?resourceVersion=abc", auth, 400, metav1.StatusReasonBadRequest, "invalid resource version: ..."},
		{"undecodable continue", "GET", imagesPath + "?continue=%25%25%25", auth, 400, metav1.StatusReasonBadRequest,
			"invalid continue token: continue key is not valid: ..."},
		{"continue with resourceVersion", "GET", imagesPath + "?resourceVersion=1&continue=" + future, auth, 400, metav1.StatusReasonBadRequest,
			"specifying resource version is not allowed when using continue"},
		{"continue from another history", "GET", imagesPath + "?continue=" + future, auth, 410, metav1.StatusReasonExpired, msgContinueExpired},
		{"continue older than the log", "GET", "COMPACTED" + imagesPath + "?limit=2&continue=" + encodeContinue(1, name), nil, 410, metav1.StatusReasonExpired, msgContinueExpired},
		{"resourceVersionMatch without resourceVersion", "GET", imagesPath + "?resourceVersionMatch=Exact", auth, 422, metav1.StatusReasonInvalid,
			"ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided"},
		{"sendInitialEvents on a list", "GET", imagesPath + "?sendInitialEvents=true", auth, 422, metav1.StatusReasonInvalid, "..."},
		{"sendInitialEvents without NotOlderThan", "GET", imagesPath + "?watch=true&sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1", auth, 422, metav1.StatusReasonInvalid, "..."},
		{"exact list of a changed past", "GET", imagesPath + "?resourceVersion=1&resourceVersionMatch=Exact", auth, 410, metav1.StatusReasonExpired, msgListExpired},
		{"resourceVersion in the future", "GET", imagesPath + "?resourceVersion=999999", auth, 504, metav1.StatusReasonTimeout,
			"Timeout: Too large resource version: 999999, current: ..."},
		{"watch from the future", "GET", imagesPath + "?watch=1&resourceVersion=999999", auth, 504, metav1.StatusReasonTimeout, "Timeout: Too large resource version: ..."},
		{"bad includeObject", "GET", imagesPath + "?includeObject=All", auth, 400, metav1.StatusReasonBadRequest, `unrecognized includeObject value: "All"`},
		{"protobuf only", "GET", imagesPath, map[string]string{"Authorization": "Bearer " + testToken, "Accept": "application/vnd.kubernetes.protobuf"}, 406, metav1.StatusReasonNotAcceptable, "..."},
		{"query too long", "GET", imagesPath + "?labelSelector=" + strings.Repeat("a", 9000), auth, 400, metav1.StatusReasonBadRequest, "the query string is ..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, path := ts.URL, tc.url
			if p, ok := strings.CutPrefix(path, "COMPACTED"); ok {
				base, path = compacted.URL, p
			}
			code, hdr, body := request(t, tc.method, base+path, tc.header)
			if code != tc.code {
				t.Fatalf("code %d, want %d: %s", code, tc.code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			st := decode[metav1.Status](t, body)
			if st.Kind != "Status" || st.APIVersion != "v1" || st.Status != metav1.StatusFailure || st.Reason != tc.reason || int(st.Code) != tc.code {
				t.Errorf("status %+v, want reason %s code %d", st, tc.reason, tc.code)
			}
			if prefix, ok := strings.CutSuffix(tc.message, "..."); ok {
				if !strings.HasPrefix(st.Message, prefix) {
					t.Errorf("message %q, want it to start with %q", st.Message, prefix)
				}
			} else if st.Message != tc.message {
				t.Errorf("message %q\n         want %q", st.Message, tc.message)
			}
		})
	}

	t.Run("too large carries the apiserver cause", func(t *testing.T) {
		_, _, body := request(t, "GET", ts.URL+imagesPath+"?resourceVersion=999999", auth)
		st := decode[metav1.Status](t, body)
		if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != metav1.CauseTypeResourceVersionTooLarge {
			t.Errorf("details %+v, want the ResourceVersionTooLarge cause", st.Details)
		}
	})
	t.Run("not found names the object", func(t *testing.T) {
		_, _, body := request(t, "GET", ts.URL+imagesPath+"/"+missing, auth)
		st := decode[metav1.Status](t, body)
		if st.Details == nil || st.Details.Name != missing || st.Details.Group != "image.openshift.io" || st.Details.Kind != "images" {
			t.Errorf("details %+v", st.Details)
		}
	})
	t.Run("health needs no token", func(t *testing.T) {
		for _, p := range []string{"/healthz", "/livez", "/readyz"} {
			if code, body := get(t, ts.URL+p); code != 200 || string(body) != "ok" {
				t.Errorf("%s: %d %q", p, code, body)
			}
		}
	})
	t.Run("a watch from before the log's horizon gets an ERROR event", func(t *testing.T) {
		code, body := get(t, compacted.URL+imagesPath+"?watch=true&resourceVersion=1&timeoutSeconds=5")
		if code != 200 {
			t.Fatalf("code %d: %s", code, body)
		}
		ev := decode[struct {
			Type   string
			Object metav1.Status
		}](t, body)
		if ev.Type != "ERROR" || ev.Object.Code != http.StatusGone || ev.Object.Reason != metav1.StatusReasonExpired ||
			ev.Object.Message != "too old resource version: 1 (3)" {
			t.Errorf("event %+v", ev)
		}
	})
	t.Run("stale continue of a compacted log", func(t *testing.T) {
		u := compacted.URL + imagesPath + "?limit=2&continue=" + url.QueryEscape(encodeContinue(3, name))
		if code, body := get(t, u); code != 200 {
			t.Errorf("a token at the horizon must be honoured: %d %s", code, body)
		}
	})
}

// failingPages is a catalog whose reads fail after the first page, as a
// disk error in the middle of a long list would.
type failingPages struct{ Reader }

func (f failingPages) ListImages(ctx context.Context, opts catalog.ListOptions) (catalog.ImagePage, error) {
	if opts.After != "" {
		return catalog.ImagePage{}, errors.New("disk I/O error")
	}
	return f.Reader.ListImages(ctx, opts)
}

func TestAFailureMidListCutsTheResponse(t *testing.T) {
	f := newFixture(t, walkChunk+5)
	_, ts := serve(t, failingPages{f.reader}, Options{})
	resp, err := http.Get(ts.URL + imagesPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		var list map[string]any
		if json.Unmarshal(body, &list) == nil {
			t.Fatalf("a failed walk produced a valid list of %d bytes", len(body))
		}
	}
	// A page that fails before anything is written is a plain 500.
	code, body2 := get(t, ts.URL+imagesPath+"?limit=1&continue="+url.QueryEscape(encodeContinue(1, allNames(t, f.reader)[0])))
	if st := decode[metav1.Status](t, body2); code != 500 || st.Reason != metav1.StatusReasonInternalError || strings.Contains(st.Message, "disk") {
		t.Errorf("%d %s", code, body2)
	}
}
