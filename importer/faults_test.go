package importer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
)

// faultOnce answers the first request of each path matching match with
// fault, then lets the real registry answer. Hand-written because a real
// registry does not rate-limit or drop connections on demand.
func faultOnce(match func(*http.Request) bool, fault func(http.ResponseWriter, *http.Request)) (testregistry.Option, *atomic.Int64) {
	var mu sync.Mutex
	seen := map[string]bool{}
	var n atomic.Int64
	return testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if testregistry.IsSeedRequest(r) || !match(r) {
				next.ServeHTTP(w, r)
				return
			}
			mu.Lock()
			first := !seen[r.Method+r.URL.Path]
			seen[r.Method+r.URL.Path] = true
			mu.Unlock()
			if first {
				n.Add(1)
				fault(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}), &n
}

func isManifestGet(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/manifests/")
}

func pushTags(t *testing.T, e *env, repo string, n int) []string {
	t.Helper()
	var refs []string
	for i := range n {
		p := e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{fmt.Sprintf("v%d", i)}, Format: testregistry.MixedFormat(i), Seed: int64(1000 + i)})
		refs = append(refs, e.reg.Host()+"/"+repo+":"+p.Tags[0])
	}
	return refs
}

func TestRateLimitedRegistryIsWaitedOut(t *testing.T) {
	opt, faults := faultOnce(isManifestGet, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}`, http.StatusTooManyRequests)
	})
	e := newEnv(t, opt)
	refs := pushTags(t, e, "limited/app", 12)
	start := time.Now()
	s := e.run(t, importer.Request{References: refs})
	if len(s.Failures) != 0 {
		t.Fatalf("failures after 429s: %+v", s.Failures)
	}
	if faults.Load() < 12 {
		t.Fatalf("only %d 429s were served", faults.Load())
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("import took %s: Retry-After: 1 was not honoured", took)
	}
	if got := e.reg.Requests().Get("manifest-get"); got < 24 {
		t.Errorf("%d manifest GETs, want each retried after its 429", got)
	}
}

func TestServerErrorsAndDroppedConnectionsAreRetried(t *testing.T) {
	flip := 0
	var mu sync.Mutex
	opt, faults := faultOnce(isManifestGet, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		flip++
		kind := flip % 3
		mu.Unlock()
		switch kind {
		case 0:
			http.Error(w, "upstream broke", http.StatusBadGateway)
		case 1:
			w.WriteHeader(http.StatusServiceUnavailable)
		default: // drop the connection mid-answer
			hj, ok := w.(http.Hijacker)
			if !ok {
				panic("no hijacker")
			}
			conn, _, _ := hj.Hijack()
			conn.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"sch"))
			conn.Close()
		}
	})
	e := newEnv(t, opt)
	refs := pushTags(t, e, "flaky/app", 9)
	s := e.run(t, importer.Request{References: refs})
	if len(s.Failures) != 0 {
		t.Fatalf("failures: %+v", s.Failures)
	}
	if faults.Load() < 9 {
		t.Fatalf("only %d faults served", faults.Load())
	}
}

func TestRerunAsksOneHeadPerUnchangedTag(t *testing.T) {
	e := newEnv(t)
	refs := pushTags(t, e, "steady/app", 20)
	first := e.run(t, importer.Request{References: refs})
	if len(first.Failures) != 0 {
		t.Fatal(first.Failures)
	}
	e.reg.ResetRequests()
	again := e.run(t, importer.Request{References: refs})
	c := e.reg.Requests()
	if len(again.Failures) != 0 || again.ImagesCreated != 0 {
		t.Fatalf("re-run: %+v, created %d", again.Failures, again.ImagesCreated)
	}
	// The client (and its ping) is shared with the first run: exactly one HEAD per tag.
	if c.Get("manifest-head") != 20 || c.Reads() != 20 {
		t.Errorf("re-run requests %v, want exactly 20 HEADs", c)
	}
	for _, r := range again.Results {
		if r.State() != "unchanged" {
			t.Errorf("%s: %s, want unchanged", r.Reference, r.State())
		}
	}

	// A tag that moved costs its HEAD plus the fetch, and is imported.
	moved := e.push(t, testregistry.ImageSpec{Repository: "steady/app", Tags: []string{"v3"}, Format: testregistry.OCI, Seed: 99})
	third := e.run(t, importer.Request{References: refs})
	if third.ImagesCreated != 1 || third.TagsMoved != 1 {
		t.Errorf("after moving v3: created %d, moved %d", third.ImagesCreated, third.TagsMoved)
	}
	if tag, _ := e.cat.TagImage(context.Background(), e.reg.Host()+"/steady/app", "v3"); tag != moved.Digest.String() {
		t.Errorf("v3 points at %s, want %s", tag, moved.Digest)
	}
}
