package importer_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
)

// pushCraftedIndex pushes, as repo:tag, an index of two children whose
// second child's config.digest is the first child's manifest digest (the
// registry accepts it: the manifest's bytes are uploaded as a blob too).
func pushCraftedIndex(t *testing.T, e *env, repo, tag string) {
	t.Helper()
	ctx := context.Background()
	first := e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{"first"}, Format: testregistry.OCI, Seed: 41})
	var m imgspecv1.Manifest
	if err := json.Unmarshal(first.Manifest, &m); err != nil {
		t.Fatal(err)
	}
	m.Config = imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: first.Digest, Size: int64(len(first.Manifest))}
	second, _ := json.Marshal(m)
	if err := e.reg.PushRaw(ctx, repo, digest.FromBytes(second).String(), imgspecv1.MediaTypeImageManifest, second, first.Manifest); err != nil {
		t.Fatal(err)
	}
	index, _ := json.Marshal(imgspecv1.Index{Versioned: m.Versioned, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{
		{MediaType: imgspecv1.MediaTypeImageManifest, Digest: first.Digest, Size: int64(len(first.Manifest)), Platform: &imgspecv1.Platform{OS: "linux", Architecture: "amd64"}},
		{MediaType: imgspecv1.MediaTypeImageManifest, Digest: digest.FromBytes(second), Size: int64(len(second)), Platform: &imgspecv1.Platform{OS: "linux", Architecture: "arm64"}},
	}})
	if err := e.reg.PushRaw(ctx, repo, tag, imgspecv1.MediaTypeImageIndex, index); err != nil {
		t.Fatal(err)
	}
}

// The crafted index fails its own reference with a clear error; the other
// reference is imported and the run is recorded partial.
func TestCraftedIndexFailsAlone(t *testing.T) {
	e := newEnv(t)
	pushCraftedIndex(t, e, "crafted/app", "v1")
	good := e.push(t, testregistry.ImageSpec{Repository: "plain/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 42})
	host := e.reg.Host()
	s := e.run(t, importer.Request{References: []string{host + "/crafted/app:v1", host + "/plain/app:v1"}})
	if len(s.Failures) != 1 || s.Failures[0].Reference != host+"/crafted/app:v1" || !strings.Contains(s.Failures[0].Reason, "config") {
		t.Fatalf("failures %+v, want the crafted reference only, naming its config", s.Failures)
	}
	if _, err := e.cat.GetImage(context.Background(), good.Digest.String()); err != nil {
		t.Errorf("the other reference was not imported: %v", err)
	}
	runs, err := e.cat.Runs(context.Background(), 1)
	if err != nil || len(runs) != 1 || runs[0].Status != catalog.RunPartial {
		t.Fatalf("runs %+v (%v), want one partial", runs, err)
	}
}
