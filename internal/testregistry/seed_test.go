package testregistry

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestSeedMixed(t *testing.T) {
	r := start(t)
	pushed, err := r.SeedMixed(t.Context(), 5, 200)
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 200 {
		t.Fatalf("%d pushed", len(pushed))
	}
	formats := map[string]int{}
	seen := map[digest.Digest]bool{}
	perRepo := map[string][]string{}
	for i, p := range pushed {
		formats[p.MediaType]++
		if seen[p.Digest] {
			t.Errorf("digest %s pushed twice", p.Digest)
		}
		seen[p.Digest] = true
		if p.Repository != SeedRepository(i, 5) || len(p.Tags) != 1 || p.Tags[0] != SeedTag(i) {
			t.Errorf("tag %d: %s %v", i, p.Repository, p.Tags)
		}
		if (p.MediaType == MediaTypeDockerList || p.MediaType == imgspecv1.MediaTypeImageIndex) && len(p.Children) != 2 {
			t.Errorf("list %d has %d children", i, len(p.Children))
		}
		perRepo[p.Repository] = append(perRepo[p.Repository], p.Tags[0])
	}
	want := map[string]int{MediaTypeSchema2: 90, imgspecv1.MediaTypeImageManifest: 90, MediaTypeDockerList: 10, imgspecv1.MediaTypeImageIndex: 10}
	for mt, n := range want {
		if formats[mt] != n {
			t.Errorf("mix: %v, want %v", formats, want)
			break
		}
	}
	// Every tag is listed by the registry itself, and the catalog has the 5 repositories.
	for repo, tags := range perRepo {
		got := fetch(t, http.MethodGet, r.URL()+"/v2/"+repo+"/tags/list")
		if l := decode[struct{ Tags []string }](t, got.body); len(l.Tags) != len(tags) || len(tags) != 40 {
			t.Errorf("%s: %d tags listed, %d pushed", repo, len(l.Tags), len(tags))
		}
	}
	cat := fetch(t, http.MethodGet, r.URL()+"/v2/_catalog")
	if repos := decode[struct{ Repositories []string }](t, cat.body).Repositories; len(repos) != 5 {
		t.Errorf("catalog: %s", cat.body)
	}
	checkManifest(t, r, pushed[0], SeedTag(0))
	checkManifest(t, r, pushed[199], SeedTag(199))
	// Deterministic: a smaller seed of another registry is a prefix of this one.
	again, err := start(t).SeedMixed(t.Context(), 5, 30)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range again {
		if p.Digest != pushed[i].Digest {
			t.Fatalf("tag %d: digest %s, then %s", i, pushed[i].Digest, p.Digest)
		}
	}
}

func TestRequestCounts(t *testing.T) {
	r := start(t)
	p := push(t, r, ImageSpec{Repository: "count/me", Tags: []string{"v1"}, Format: Schema2, Seed: 1})
	s1 := push(t, r, ImageSpec{Repository: "count/old", Tags: []string{"v1"}, Format: Schema1, Seed: 2})
	if c := r.Requests(); c.Total() != 0 {
		t.Errorf("seeding was counted: %v", c)
	}
	base := r.URL() + "/v2/"
	fetch(t, http.MethodGet, base)
	fetch(t, http.MethodGet, base+"count/me/manifests/v1", acceptAll()...)
	fetch(t, http.MethodGet, base+"count/old/manifests/v1", acceptAll()...) // schema1, answered by the shim
	fetch(t, http.MethodHead, base+"count/me/manifests/"+p.Digest.String(), acceptAll()...)
	fetch(t, http.MethodHead, base+"count/old/manifests/"+s1.Digest.String(), acceptAll()...)
	fetch(t, http.MethodGet, base+"count/me/blobs/"+p.ConfigDigest.String())
	fetch(t, http.MethodHead, base+"count/me/blobs/"+p.Layers[0].Digest.String())
	fetch(t, http.MethodGet, base+"count/me/tags/list")
	fetch(t, http.MethodGet, base+"_catalog")
	fetch(t, http.MethodGet, r.URL()+"/metrics")
	want := RequestCounts{KindPing: 1, KindManifestGet: 2, KindManifestHead: 2, KindBlobGet: 1, KindBlobHead: 1, KindTagsList: 1, KindCatalog: 1, KindOther: 1}
	c := r.Requests()
	for kind, n := range want {
		if c.Get(kind) != n {
			t.Errorf("%s: %d, want %d (all: %v)", kind, c.Get(kind), n, c)
		}
	}
	if c.Total() != 10 || c.Reads() != 10 {
		t.Errorf("total %d, reads %d, want 10", c.Total(), c.Reads())
	}
	c[KindPing] = 99 // a snapshot: changing it changes nothing
	r.ResetRequests()
	if c := r.Requests(); c.Total() != 0 {
		t.Errorf("after reset: %v", c)
	}
	// Safe under concurrent use (the race detector watches).
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 10 {
				fetch(t, http.MethodHead, base+"count/me/manifests/v1", acceptAll()...)
				_ = r.Requests().Total()
			}
		})
	}
	wg.Wait()
	if c := r.Requests(); c.Get(KindManifestHead) != 80 || c.Total() != 80 {
		t.Errorf("concurrent: %v", c)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct{ method, path, want string }{
		{"GET", "/v2/", KindPing}, {"HEAD", "/v2", KindPing}, {"GET", "/v2/_catalog", KindCatalog},
		{"GET", "/v2/a/b/tags/list", KindTagsList}, {"GET", "/v2/a/manifests/latest", KindManifestGet},
		{"HEAD", "/v2/a/b/manifests/sha256:00", KindManifestHead}, {"PUT", "/v2/a/manifests/v1", KindManifestPut},
		{"DELETE", "/v2/a/manifests/v1", KindOther}, {"GET", "/v2/a/blobs/sha256:00", KindBlobGet},
		{"HEAD", "/v2/a/blobs/sha256:00", KindBlobHead}, {"POST", "/v2/a/blobs/uploads/", KindUpload},
		{"PUT", "/v2/a/blobs/uploads/0f3c", KindUpload}, {"PATCH", "/v2/a/blobs/uploads/0f3c", KindUpload},
		{"GET", "/v2/manifests/blobs/sha256:00", KindBlobGet}, {"GET", "/v2/blobs/manifests/v1", KindManifestGet},
		{"GET", "/v2/a/referrers/sha256:00", KindReferrers}, {"GET", "/v2/a/manifests/sha256-" + strings.Repeat("ab", 32), KindReferrers},
		{"GET", "/v2/a/manifests/sha256-" + strings.Repeat("ab", 32) + ".sig", KindManifestGet}, {"GET", "/healthz", KindOther},
	} {
		if got := classify(tc.method, tc.path); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
}

func TestMiddlewareAndListenAddr(t *testing.T) {
	// A port that was free a moment ago; Start must use it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// An auth middleware that lets only the seeder and "Bearer ok" in, then a fault injector outside it.
	auth := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if !IsSeedRequest(req) && req.Header.Get("Authorization") != "Bearer ok" && req.URL.Path != "/v2/" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	faults := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if strings.HasSuffix(req.URL.Path, "/manifests/broken") {
				http.Error(w, "injected", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, req)
		})
	}
	r := start(t, WithListenAddr(addr), WithMiddleware(auth), WithMiddleware(faults))
	if r.Host() != addr || r.URL() != "http://"+addr {
		t.Errorf("host %s, url %s, want %s", r.Host(), r.URL(), addr)
	}
	push(t, r, ImageSpec{Repository: "mw/app", Tags: []string{"v1"}, Format: OCI, Seed: 1})
	if got := fetch(t, http.MethodGet, r.URL()+"/v2/mw/app/manifests/v1"); got.status != http.StatusUnauthorized {
		t.Errorf("without auth: %d", got.status)
	}
	if got := fetch(t, http.MethodGet, r.URL()+"/v2/mw/app/manifests/broken"); got.status != http.StatusServiceUnavailable {
		t.Errorf("fault: %d", got.status)
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, r.URL()+"/v2/mw/app/manifests/v1", nil)
	req.Header.Set("Authorization", "Bearer ok")
	req.Header.Set("Accept", imgspecv1.MediaTypeImageManifest)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with auth: %s", resp.Status)
	}
	if c := r.Requests(); c.Get(KindManifestGet) != 3 {
		t.Errorf("requests a middleware answered are not counted: %v", c)
	}
	if _, err := Start(t.Context(), WithListenAddr(addr)); err == nil {
		t.Error("a second registry on a taken address started")
	}
	r.Close()
	r.Close() // twice is fine
	if _, err := http.Get(r.URL() + "/v2/"); err == nil {
		t.Error("still serving after Close")
	}
}

func TestStartHonoursCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Start(ctx); err == nil {
		t.Error("started with a canceled context")
	}
}

// BenchmarkSeedMixed5000 measures the seeding `make bench` does:
// go test -run '^$' -bench SeedMixed -benchtime 1x ./internal/testregistry/
func BenchmarkSeedMixed5000(b *testing.B) {
	for b.Loop() {
		r, err := Start(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := r.SeedMixed(b.Context(), 20, 5000); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/5000tags")
		r.Close()
	}
}

func ExampleRegistry_Push() {
	ctx := context.Background()
	r, err := Start(ctx)
	if err != nil {
		panic(err)
	}
	defer r.Close()
	p, err := r.Push(ctx, ImageSpec{Repository: "library/app", Tags: []string{"1.0", "latest"}, Format: OCI, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(p.MediaType, len(p.Layers), "layers")
	// Output: application/vnd.oci.image.manifest.v1+json 2 layers
}
