package importer_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
)

type env struct {
	reg *testregistry.Registry
	cat catalog.Catalog
	imp *importer.Importer
}

func newEnv(t testing.TB, opts ...testregistry.Option) *env {
	t.Helper()
	ctx := context.Background()
	reg, err := testregistry.Start(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	cat, err := catalogdb.Open(ctx, dbtest.New(t), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	client := newClient()
	imp, err := importer.New(importer.Options{Catalog: cat, Registry: client, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	return &env{reg: reg, cat: cat, imp: imp}
}

func newClient() *registry.Client {
	return registry.New(registry.Options{Sys: &types.SystemContext{DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}})
}

func (e *env) push(t testing.TB, spec testregistry.ImageSpec) testregistry.Pushed {
	t.Helper()
	p, err := e.reg.Push(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (e *env) run(t *testing.T, req importer.Request) importer.Summary {
	t.Helper()
	s, err := e.imp.Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkImage compares a stored image with what was pushed, field by field,
// against section 1 of the reference notes.
func checkImage(t *testing.T, cat catalog.Catalog, repo string, p testregistry.Pushed) {
	t.Helper()
	img, err := cat.GetImage(context.Background(), p.Digest.String())
	if err != nil {
		t.Fatalf("%s: %v", p.Digest, err)
	}
	if img.DockerImageReference != repo+"@"+p.Digest.String() {
		t.Errorf("dockerImageReference %s, want %s@%s", img.DockerImageReference, repo, p.Digest)
	}
	if img.DockerImageManifest != string(p.Manifest) {
		t.Errorf("%s: manifest not kept as served", p.Digest)
	}
	var meta docker10.DockerImage
	if err := json.Unmarshal(img.DockerImageMetadata.Raw, &meta); err != nil {
		t.Fatal(err)
	}
	if len(p.Children) > 0 {
		if len(img.DockerImageManifests) != len(p.Children) || len(img.DockerImageLayers) != 0 || len(img.Annotations) != 0 {
			t.Errorf("list %s: %d entries, %d layers, annotations %v", p.Digest, len(img.DockerImageManifests), len(img.DockerImageLayers), img.Annotations)
		}
		if meta.ID != p.Digest.String() {
			t.Errorf("list Id %s, want its own digest", meta.ID)
		}
		for i, c := range p.Children {
			if img.DockerImageManifests[i].Digest != c.Digest.String() || img.DockerImageManifests[i].Architecture != c.Platform.Architecture {
				t.Errorf("list entry %d: %+v, want %s %s", i, img.DockerImageManifests[i], c.Digest, c.Platform.Architecture)
			}
			checkImage(t, cat, repo, c)
		}
		return
	}
	if img.DockerImageManifestMediaType != p.MediaType && !(strings.Contains(p.MediaType, "v1+prettyjws") && img.DockerImageManifestMediaType == importer.Schema1MediaType) {
		t.Errorf("media type %s, want %s", img.DockerImageManifestMediaType, p.MediaType)
	}
	if img.Annotations["image.openshift.io/dockerLayersOrder"] != "ascending" {
		t.Errorf("%s: annotations %v", p.Digest, img.Annotations)
	}
	if len(img.DockerImageLayers) != len(p.Layers) {
		t.Fatalf("%s: %d layers, want %d", p.Digest, len(img.DockerImageLayers), len(p.Layers))
	}
	unique := map[digest.Digest]bool{}
	var size int64
	for i, l := range p.Layers {
		got := img.DockerImageLayers[i]
		if got.Name != l.Digest.String() || got.LayerSize != l.Size {
			t.Errorf("layer %d: %+v, want %s %d", i, got, l.Digest, l.Size)
		}
		if !unique[l.Digest] {
			unique[l.Digest] = true
			size += l.Size
		}
	}
	if p.ConfigDigest != "" {
		if meta.ID != p.ConfigDigest.String() {
			t.Errorf("Id %s, want config digest %s", meta.ID, p.ConfigDigest)
		}
		if img.DockerImageConfig != string(p.Config) {
			t.Errorf("%s: config not kept as served", p.Digest)
		}
		// The importer hands the catalog the digest it checked the config
		// against: the config must be found under it.
		if b, err := cat.Config(context.Background(), p.ConfigDigest.String()); err != nil || string(b) != string(p.Config) {
			t.Errorf("%s: config under %s: %d bytes, %v; want the config", p.Digest, p.ConfigDigest, len(b), err)
		}
		size += int64(len(p.Config))
	}
	if meta.Size != size {
		t.Errorf("%s: Size %d, want %d", p.Digest, meta.Size, size)
	}
	if meta.Architecture == "" || meta.Created.IsZero() {
		t.Errorf("%s: metadata lacks architecture or created: %+v", p.Digest, meta)
	}
}

func TestImportEveryFormat(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	pushed := []testregistry.Pushed{
		e.push(t, testregistry.ImageSpec{Repository: "apps/schema2", Tags: []string{"v1", "latest"}, Format: testregistry.Schema2, Seed: 1, SharedBaseLayer: true}),
		e.push(t, testregistry.ImageSpec{Repository: "apps/oci", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 2, SharedBaseLayer: true}),
		e.push(t, testregistry.ImageSpec{Repository: "apps/list", Tags: []string{"v1"}, Format: testregistry.DockerList, Seed: 3}),
		e.push(t, testregistry.ImageSpec{Repository: "apps/index", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 4}),
		e.push(t, testregistry.ImageSpec{Repository: "apps/old", Tags: []string{"v1"}, Format: testregistry.Schema1, Seed: 5}),
	}
	var refs []string
	for _, p := range pushed {
		refs = append(refs, host+"/"+p.Repository+":v1")
	}
	refs = append(refs, host+"/apps/oci@"+pushed[1].Digest.String())
	s := e.run(t, importer.Request{References: refs})
	if len(s.Failures) != 0 {
		t.Fatalf("failures: %+v", s.Failures)
	}
	for _, p := range pushed {
		checkImage(t, e.cat, host+"/"+p.Repository, p)
	}
	// 1 + 1 + (1+2) + (1+2) + 1 images.
	if s.ImagesCreated != 9 {
		t.Errorf("created %d images, want 9", s.ImagesCreated)
	}

	// The same again changes nothing, not even the resourceVersion.
	rv, _ := e.cat.ResourceVersion(context.Background())
	again := e.run(t, importer.Request{References: refs})
	if again.ImagesCreated != 0 || len(again.Failures) != 0 {
		t.Errorf("re-import created %d, failed %v", again.ImagesCreated, again.Failures)
	}
	if rv2, _ := e.cat.ResourceVersion(context.Background()); rv2 != rv {
		t.Errorf("resourceVersion moved %d -> %d on a re-import", rv, rv2)
	}
}

func TestImportWholeRepositoryAndRegistry(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	a := e.push(t, testregistry.ImageSpec{Repository: "team/a", Tags: []string{"1", "2", "latest"}, Format: testregistry.Schema2, Seed: 10})
	b := e.push(t, testregistry.ImageSpec{Repository: "team/b", Tags: []string{"x"}, Format: testregistry.OCIIndex, Seed: 11})
	c := e.push(t, testregistry.ImageSpec{Repository: "other/c", Tags: []string{"y"}, Format: testregistry.OCI, Seed: 12})

	s := e.run(t, importer.Request{References: []string{host + "/team/a"}, AllTags: true})
	if len(s.Results) != 3 || s.ImagesCreated != 1 || s.TagsCreated != 3 {
		t.Fatalf("--all-tags: %d results, %d images, %d tags; want 3, 1, 3", len(s.Results), s.ImagesCreated, s.TagsCreated)
	}
	s = e.run(t, importer.Request{References: []string{host + "/team"}, Catalog: true})
	if len(s.Failures) != 0 || s.ImagesCreated != 3 { // b's index and two children; a is known
		t.Fatalf("--catalog host/team: %+v, created %d", s.Failures, s.ImagesCreated)
	}
	if ok, _ := e.cat.HasImage(context.Background(), c.Digest.String()); ok {
		t.Error("--catalog host/team imported other/c")
	}
	s = e.run(t, importer.Request{References: []string{host}, Catalog: true})
	if len(s.Failures) != 0 || s.ImagesCreated != 1 {
		t.Fatalf("--catalog host: %+v, created %d", s.Failures, s.ImagesCreated)
	}
	checkImage(t, e.cat, host+"/team/a", a)
	checkImage(t, e.cat, host+"/team/b", b)
	checkImage(t, e.cat, host+"/other/c", c)
}

func TestOneBadReferenceNeverStopsTheOthers(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	good := e.push(t, testregistry.ImageSpec{Repository: "ok/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 20})
	refs := []string{
		host + "/ok/app:v1",
		host + "/ok/app:missing",
		host + "/nope/none:v1",
		"Not A Reference!",
		host + "/ok/app@sha256:" + strings.Repeat("0", 64),
	}
	s := e.run(t, importer.Request{References: refs})
	if len(s.Failures) != 4 {
		t.Fatalf("failures %+v, want 4", s.Failures)
	}
	reasons := map[string]string{}
	for _, f := range s.Failures {
		reasons[f.Reference] = f.Reason
	}
	for _, r := range s.Results { // the Status reason OpenShift would give
		if r.Err != nil {
			reasons[r.Reference] = string(importer.ReasonOf(r.Err)) + ": " + reasons[r.Reference]
		}
	}
	for ref, want := range map[string]string{
		host + "/ok/app:missing":                           "NotFound",
		host + "/nope/none:v1":                             "NotFound",
		"Not A Reference!":                                 "invalid reference",
		host + "/ok/app@sha256:" + strings.Repeat("0", 64): "NotFound",
	} {
		if !strings.HasPrefix(reasons[ref], want) {
			t.Errorf("%s: %q, want reason %s", ref, reasons[ref], want)
		}
	}
	checkImage(t, e.cat, host+"/ok/app", good)
	runs, _ := e.cat.Runs(context.Background(), 1)
	if runs[0].Status != catalog.RunPartial || runs[0].Failed != 4 {
		t.Errorf("run recorded as %+v", runs[0])
	}
	fs, _ := e.cat.RunFailures(context.Background(), runs[0].ID)
	if len(fs) != 4 {
		t.Errorf("catalog holds %d failures, want 4", len(fs))
	}
}

// A registry that serves a manifest that does not hash to the digest asked
// for must not get it into the catalog (content integrity error).
func TestDigestMismatchIsRefused(t *testing.T) {
	var tamper atomic.Bool
	e := newEnv(t, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tamper.Load() && strings.Contains(r.URL.Path, "/manifests/sha256:") {
				rec := &bodyRewriter{ResponseWriter: w}
				next.ServeHTTP(rec, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	p := e.push(t, testregistry.ImageSpec{Repository: "x/y", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 30})
	tamper.Store(true)
	s := e.run(t, importer.Request{References: []string{e.reg.Host() + "/x/y@" + p.Digest.String()}})
	if len(s.Failures) != 1 || !errors.Is(s.Results[0].Err, registry.ErrDigestMismatch) {
		t.Fatalf("failures %+v, want a content integrity error", s.Failures)
	}
	if ok, _ := e.cat.HasImage(context.Background(), p.Digest.String()); ok {
		t.Error("a tampered manifest was stored")
	}
}

// bodyRewriter adds a space to a response body: valid JSON, other digest.
type bodyRewriter struct {
	http.ResponseWriter
	wroteHeader, wrote bool
}

func (b *bodyRewriter) WriteHeader(code int) {
	if b.wroteHeader {
		return
	}
	b.wroteHeader = true
	b.Header().Del("Content-Length")
	b.ResponseWriter.WriteHeader(code)
}

func (b *bodyRewriter) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	if !b.wrote {
		b.wrote = true
		if _, err := b.ResponseWriter.Write([]byte(" ")); err != nil {
			return 0, err
		}
	}
	return b.ResponseWriter.Write(p)
}
