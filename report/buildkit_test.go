package report_test

import (
	"context"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

// An image whose index carries its BuildKit provenance (and an SBOM) has
// provenance in the report, although its referrers were never looked up;
// an unreadable statement adds nothing.
func TestBuildKitProvenanceCounts(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)).Now})
	if err != nil {
		t.Fatal(err)
	}
	const repo = "registry.example.com/prod/app"
	amd := rt.Image{Seed: "bk-amd64", Repository: repo}
	arm := rt.Image{Seed: "bk-arm64", Repository: repo, Arch: "arm64"}
	list := rt.List("bk-list", repo, amd, arm)
	list.IndexAttestations = []catalog.IndexAttestation{
		{Manifest: "sha256:" + fill('a'), Position: 0, Image: amd.Digest(), InIndex: true, Readable: true, PredicateType: "https://spdx.dev/Document"},
		{Manifest: "sha256:" + fill('a'), Position: 1, Image: amd.Digest(), InIndex: true, Readable: true, PredicateType: "https://slsa.dev/provenance/v0.2",
			BuilderID: "https://example.com/builder", Materials: []string{"pkg:docker/alpine@3.20"}},
		{Manifest: "sha256:" + fill('b'), Position: 0, Image: arm.Digest(), InIndex: true, Readable: false, Reason: "not valid JSON",
			PredicateType: "https://slsa.dev/provenance/v0.2"},
	}
	if _, err := rt.Run(ctx, cat, "regimport import "+repo+":1", []any{amd.Record(), arm.Record(), list, rt.Tag(repo, "1", list.Image.Name)}); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON}))
	got := map[string]report.AttestationImage{}
	for _, a := range d.Attestations.Images {
		got[a.Digest] = a
	}
	if a, ok := got[amd.Digest()]; !ok || !a.Provenance || !a.SBOM || a.VerifiedProvenance || len(a.PredicateTypes) != 2 {
		t.Errorf("amd64 image: %+v (listed %v), want unverified provenance and SBOM", a, ok)
	}
	if a, ok := got[arm.Digest()]; ok && (a.Provenance || a.SBOM) {
		t.Errorf("arm64 image, whose statement is unreadable: %+v", a)
	}
	for _, r := range d.Inventory {
		if r.Digest == list.Image.Name && len(r.Platforms) != 2 {
			t.Errorf("list platforms %v, want linux/amd64 and linux/arm64", r.Platforms)
		}
	}
}

func fill(c byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return string(b)
}
