package importer

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
)

// A written image is remembered by 8 bytes, not its name: nothing of it
// stays queued, and a failed write leaves nothing behind.
func TestSeenImagesKeepOnlyAHashOfWrittenImages(t *testing.T) {
	s := newSeenImages()
	const n = 1000
	for i := range n {
		s.queue(fmt.Sprintf("sha256:%064d", i))
	}
	if q, w := s.sizes(); q != n || w != 0 {
		t.Fatalf("after queueing %d: %d queued, %d written; want %d and 0", n, q, w, n)
	}
	if sure, _ := s.has(fmt.Sprintf("sha256:%064d", 7)); !sure {
		t.Error("a queued image is not known for sure")
	}
	for i := range n {
		s.settle(fmt.Sprintf("sha256:%064d", i), i%10 != 0) // every tenth write fails
	}
	if q, w := s.sizes(); q != 0 || w != n-n/10 {
		t.Fatalf("after the writes: %d queued, %d written; want 0 and %d", q, w, n-n/10)
	}
	if sure, confirm := s.has(fmt.Sprintf("sha256:%064d", 7)); sure || !confirm {
		t.Errorf("a written image: sure %v, confirm %v; want false, true (the catalog decides)", sure, confirm)
	}
	if sure, confirm := s.has(fmt.Sprintf("sha256:%064d", 10)); sure || confirm {
		t.Errorf("an image whose write failed: sure %v, confirm %v; want false, false", sure, confirm)
	}
	// The same image queued twice stays known until both writes settle.
	s.queue("sha256:x")
	s.queue("sha256:x")
	s.settle("sha256:x", false)
	if sure, _ := s.has("sha256:x"); !sure {
		t.Error("an image with a write still queued is not known for sure")
	}
}

// When every written image's hash collides, the catalog tells them apart:
// every image is stored, and one that two tags share is still fetched
// once.
func TestSeenHashCollisionsCostACatalogReadNotAnImage(t *testing.T) {
	ctx := context.Background()
	// A hand-written delay, which a real registry cannot be asked for: the
	// second tag of the first image is served after the writer has
	// committed that image (it commits every 100 ms), so the run meets a
	// written image, and with one worker every later target does too.
	reg, err := testregistry.Start(ctx, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/manifests/same-as-one") {
				time.Sleep(500 * time.Millisecond)
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	var pushed []testregistry.Pushed
	for _, spec := range []testregistry.ImageSpec{
		{Repository: "seen/a", Tags: []string{"one", "same-as-one"}, Format: testregistry.Schema2, Seed: 1},
		{Repository: "seen/a", Tags: []string{"two"}, Format: testregistry.OCI, Seed: 2},
		{Repository: "seen/b", Tags: []string{"three"}, Format: testregistry.Schema2, Seed: 3},
	} {
		p, err := reg.Push(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		pushed = append(pushed, p)
	}
	for _, collide := range []bool{false, true} {
		t.Run(fmt.Sprintf("collide=%v", collide), func(t *testing.T) {
			cat, err := catalogdb.Open(ctx, dbtest.New(t), catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer cat.Close()
			client := registry.New(registry.Options{Sys: &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}})
			// One worker: the targets are fetched one after another, in
			// the listing's order (one, same-as-one, two; then three).
			imp, err := New(Options{Catalog: cat, Registry: client, Concurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			if collide {
				imp.seenHash = func(maphash.Seed, string) uint64 { return 0 }
			}
			reg.ResetRequests()
			sum, err := imp.Run(ctx, Request{Repositories: []string{reg.Host() + "/seen/a", reg.Host() + "/seen/b"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(sum.Failures) > 0 {
				t.Fatalf("failures: %v", sum.Failures)
			}
			for _, p := range pushed {
				if _, err := cat.GetImage(ctx, p.Digest.String()); err != nil {
					t.Errorf("%s:%v (%s) not stored: %v", p.Repository, p.Tags, p.Digest, err)
				}
			}
			if got := reg.Requests().Get(testregistry.KindBlobGet); got != 3 {
				t.Errorf("%d config fetches, want 3 (the shared image's once)", got)
			}
			if sum.ImagesCreated != 3 {
				t.Errorf("%d images created, want 3", sum.ImagesCreated)
			}
		})
	}
}
