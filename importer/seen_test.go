package importer

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"

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
	// A write that settles before its queueing is recorded (the writer
	// was quicker than the worker) leaves nothing queued behind.
	s.settle("sha256:y", true)
	s.queue("sha256:y")
	if sure, confirm := s.has("sha256:y"); sure || !confirm {
		t.Errorf("an image written before its queueing was recorded: sure %v, confirm %v; want false, true", sure, confirm)
	}
	s.settle("sha256:x", true)
	if q, _ := s.sizes(); q != 0 {
		t.Errorf("%d names queued after every write settled, want 0", q)
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

// Two targets share an image that no other target has. Whichever stores
// it first, the other may count on it only once its write is in the
// writer's queue, ahead of the other's tag: a tag queued before the image
// it names fails the catalog's foreign key. The writer here is the real
// one, wrapped to hold the image's first write until the other target's
// tag arrives (or 10 s pass), and the registry, by a hand-written
// middleware, serves the second repository's manifest only once that
// write is held: together they stretch the moment of the race, which real
// parts cannot be made to do. The image is fetched once all the same.
func TestATagIsNeverQueuedAheadOfItsImage(t *testing.T) {
	ctx := context.Background()
	held := &holdFirstImage{release: make(chan struct{}), holding: make(chan struct{})}
	var firstRepo sync.Once
	var first string
	reg, err := testregistry.Start(ctx, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			repo, _, isManifest := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v2/"), "/manifests/")
			if isManifest && (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(repo, "race/") && !testregistry.IsSeedRequest(r) {
				firstRepo.Do(func() { first = repo })
				if repo != first {
					select {
					case <-held.holding:
					case <-time.After(10 * time.Second):
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%d},"layers":[]}`,
		digest.FromBytes(config), len(config))
	shared := digest.FromString(manifest).String()
	var refs []string
	for _, repo := range []string{"race/a", "race/b"} {
		if err := reg.PushRaw(ctx, repo, "v1", "application/vnd.oci.image.manifest.v1+json", []byte(manifest), config); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, reg.Host()+"/"+repo+":v1")
	}
	cat, err := catalogdb.Open(ctx, dbtest.New(t), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	held.Catalog, held.image = cat, shared
	reg.ResetRequests()
	client := registry.New(registry.Options{Sys: &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}})
	imp, err := New(Options{Catalog: held, Registry: client, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := imp.Run(ctx, Request{References: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failures) > 0 {
		t.Fatalf("failures: %v", sum.Failures)
	}
	select {
	case <-held.holding:
	default:
		t.Fatal("the shared image's first write was never held: the test did not set up the race")
	}
	// The second target wrote the image again, from the config the first
	// one fetched, still cached while its write was not settled.
	if got := reg.Requests().Get(testregistry.KindBlobGet); got != 1 {
		t.Errorf("%d config fetches, want 1", got)
	}
	for _, ref := range refs {
		repo, _, _ := strings.Cut(strings.TrimPrefix(ref, reg.Host()+"/"), ":")
		if tags, err := cat.CurrentTags(ctx, reg.Host()+"/"+repo); err != nil || tags["v1"] != shared {
			t.Errorf("%s: current tags %v (%v), want v1 -> %s", repo, tags, err, shared)
		}
	}
}

// holdFirstImage is a catalog whose writers hold the first write of image
// (closing holding) until a tag of it is queued, or 10 s pass.
type holdFirstImage struct {
	catalog.Catalog
	image            string
	holding, release chan struct{}
	once, tagged     sync.Once
}

func (c *holdFirstImage) NewWriter(ctx context.Context, opts catalog.WriterOptions) (catalog.Writer, error) {
	w, err := c.Catalog.NewWriter(ctx, opts)
	return &holdingWriter{Writer: w, c: c}, err
}

type holdingWriter struct {
	catalog.Writer
	c *holdFirstImage
}

func (w *holdingWriter) PutImage(ctx context.Context, rec catalog.ImageRecord, done func(catalog.Outcome, error)) error {
	first := false
	if rec.Image.Name == w.c.image {
		w.c.once.Do(func() { first = true })
	}
	if first {
		close(w.c.holding)
		select {
		case <-w.c.release:
		case <-time.After(10 * time.Second):
		}
	}
	return w.Writer.PutImage(ctx, rec, done)
}

func (w *holdingWriter) PutTag(ctx context.Context, rec catalog.TagRecord, done func(catalog.Outcome, error)) error {
	if rec.Image == w.c.image {
		select {
		case <-w.c.holding:
			w.c.tagged.Do(func() { close(w.c.release) })
		default:
		}
	}
	return w.Writer.PutTag(ctx, rec, done)
}
