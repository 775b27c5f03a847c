package importer_test

import (
	"context"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
)

// An index as `docker buildx build --push --sbom=true` writes it imports as
// its platform images, each with its provenance and SBOM; the attestation
// manifests are neither Images, nor platforms, nor list entries.
func TestBuildKitAttestationsAreNotImages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	p, err := e.reg.PushBuildKitIndex(ctx, testregistry.ImageSpec{Repository: "prod/app", Tags: []string{"1.2"}, Seed: 31},
		testregistry.BuildKitOptions{SBOM: true})
	if err != nil {
		t.Fatal(err)
	}
	sum := e.run(t, importer.Request{References: []string{e.reg.Host() + "/prod/app:1.2"}})
	if len(sum.Failures) != 0 || sum.ImagesCreated != 3 {
		t.Fatalf("failures %v, %d images created, want 0 and 3 (index + 2 platforms)", sum.Failures, sum.ImagesCreated)
	}
	list, err := e.cat.GetImage(ctx, p.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(list.DockerImageManifests) != 2 {
		t.Fatalf("dockerImageManifests %+v, want the 2 platform images only", list.DockerImageManifests)
	}
	for _, m := range list.DockerImageManifests {
		if m.OS == "unknown" || m.Architecture == "unknown" {
			t.Errorf("attestation manifest served as a platform: %+v", m)
		}
	}
	if list.DockerImageManifest != string(p.Manifest) {
		t.Error("the index's manifest is not kept byte for byte")
	}
	for i, c := range p.Children {
		att := p.Attestations[i]
		if ok, err := e.cat.HasImage(ctx, att.Digest.String()); err != nil || ok {
			t.Errorf("attestation manifest %s stored as an image (%v)", att.Digest, err)
		}
		got, err := e.cat.IndexAttestations(ctx, c.Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("attestations of %s: %+v, want SBOM and provenance", c.Digest, got)
		}
		sbom, prov := got[0], got[1]
		if sbom.PredicateType != testregistry.PredicateSPDX || !sbom.Readable || sbom.Manifest != att.Digest.String() {
			t.Errorf("SBOM attestation %+v", sbom)
		}
		if prov.PredicateType != testregistry.PredicateSLSAProvenance02 || !prov.Readable || !prov.InIndex ||
			prov.BuilderID != "https://github.com/regimport/regimport/actions/runs/1" ||
			len(prov.Materials) != 2 || prov.Materials[0] != "pkg:docker/docker/dockerfile@1" ||
			string(prov.Content) != string(testregistry.ProvenanceStatement(c)) {
			t.Errorf("provenance attestation %+v", prov)
		}
	}
}

// Bad input: an attestation that names an image not in the index is kept,
// marked so; a statement that is not JSON is kept as unreadable with the
// reason. Every image is imported all the same.
func TestBuildKitAttestationBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	stranger := digest.FromString("not in the index")
	p, err := e.reg.PushBuildKitIndex(ctx, testregistry.ImageSpec{Repository: "prod/bad", Tags: []string{"1"}, Seed: 32},
		testregistry.BuildKitOptions{Statement: map[int][]byte{0: []byte(`{"_type": "https://in-toto.io/Statement/v0.1", `)},
			Reference: map[int]digest.Digest{1: stranger}})
	if err != nil {
		t.Fatal(err)
	}
	sum := e.run(t, importer.Request{References: []string{e.reg.Host() + "/prod/bad:1"}})
	if len(sum.Failures) != 0 || sum.ImagesCreated != 3 {
		t.Fatalf("failures %v, %d images created, want 0 and 3", sum.Failures, sum.ImagesCreated)
	}
	got, err := e.cat.IndexAttestations(ctx, p.Children[0].Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Readable || !strings.Contains(got[0].Reason, "not valid JSON") ||
		got[0].PredicateType != testregistry.PredicateSLSAProvenance02 || len(got[0].Content) == 0 {
		t.Errorf("unreadable statement recorded as %+v", got)
	}
	got, err = e.cat.IndexAttestations(ctx, stranger.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].InIndex || !got[0].Readable || got[0].Manifest != p.Attestations[1].Digest.String() {
		t.Errorf("attestation of an image not in the index recorded as %+v", got)
	}
	if atts, err := e.cat.IndexAttestations(ctx, p.Children[1].Digest.String()); err != nil || len(atts) != 0 {
		t.Errorf("image 1 has attestations %+v (%v), want none: its attestation names another image", atts, err)
	}
}
