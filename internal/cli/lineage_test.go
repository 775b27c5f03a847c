package cli

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// lineageCSV runs `regimport report --table lineage` and returns its rows
// by repository:tag, each the base columns joined by commas.
func lineageCSV(t *testing.T, db string) map[string]string {
	t.Helper()
	code, out, errOut := runCLI(t, "report", "--db", db, "--format", "csv", "--table", "lineage")
	if code != ExitOK {
		t.Fatalf("report --table lineage: exit %d: %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "repository,tag,digest,baseRepository,baseTag,baseDigest,baseCurrentDigest,baseOutdated" {
		t.Fatalf("lineage header %s", got)
	}
	rows := map[string]string{}
	for _, r := range recs[1:] {
		rows[r[0]+":"+r[1]] = strings.Join(r[3:], ",")
	}
	return rows
}

// The whole path an auditor takes: images pushed to a registry built on a
// base (their layers extend the base's) or naming it in the OCI base
// annotations are imported, the report names each one's base; the base's
// tag is pushed anew and re-imported, and the report marks the images on
// the old base outdated, with where the tag points now.
func TestLineageEndToEnd(t *testing.T) {
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	push := func(spec testregistry.ImageSpec) testregistry.Pushed {
		t.Helper()
		p, err := reg.Push(ctx, spec)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	host := reg.Host()
	debian := host + "/library/debian"
	app := host + "/team/app"
	baseSpec := testregistry.ImageSpec{Repository: "library/debian", Tags: []string{"12"}, Format: testregistry.OCI, Seed: 1, Layers: 2}
	base := push(baseSpec)
	built := push(testregistry.ImageSpec{Repository: "team/app", Tags: []string{"built"}, Format: testregistry.OCI, Seed: 2, Layers: 2, Base: &baseSpec})
	if len(built.Layers) != 4 || built.Layers[0] != base.Layers[0] || built.Layers[1] != base.Layers[1] {
		t.Fatalf("the image built on the base does not start with its layers: %v, base %v", built.Layers, base.Layers)
	}
	// Its layers say nothing (squashed onto its own), its annotations do.
	annotated := push(testregistry.ImageSpec{Repository: "team/app", Tags: []string{"annotated"}, Format: testregistry.OCI, Seed: 3, Layers: 1,
		Annotations: map[string]string{"org.opencontainers.image.base.name": debian + ":12", "org.opencontainers.image.base.digest": base.Digest.String()}})
	if len(annotated.Layers) != 1 {
		t.Fatalf("annotated image layers %v", annotated.Layers)
	}
	push(testregistry.ImageSpec{Repository: "team/app", Tags: []string{"alone"}, Format: testregistry.OCI, Seed: 4, Layers: 3})
	// Built on debian:12 and on app:built: the longer prefix is its base.
	onBuilt := push(testregistry.ImageSpec{Repository: "team/app", Tags: []string{"on-built"}, Format: testregistry.OCI, Seed: 5, Layers: 1,
		Base: &testregistry.ImageSpec{Repository: "team/app", Format: testregistry.OCI, Seed: 2, Layers: 2, Base: &baseSpec}})

	db := dbtest.New(t)
	importAll := func() {
		t.Helper()
		if code, out, errOut := runCLI(t, "import", "--all-tags", "--tls-verify=false", "--progress", "never", "--db", db, debian, app); code != ExitOK {
			t.Fatalf("import: exit %d: %s %s", code, out, errOut)
		}
	}
	importAll()
	rows := lineageCSV(t, db)
	onBase := strings.Join([]string{debian, "12", base.Digest.String(), base.Digest.String(), "false"}, ",")
	if got, want := rows[app+":on-built"], strings.Join([]string{app, "built", built.Digest.String(), built.Digest.String(), "false"}, ","); got != want {
		t.Errorf("app:on-built on %q, want app:built: %q", got, want)
	}
	for _, tag := range []string{"built", "annotated"} {
		if got := rows[app+":"+tag]; got != onBase {
			t.Errorf("app:%s on %q, want debian:12 (%s)", tag, got, onBase)
		}
	}
	if got := rows[app+":alone"]; got != ",,,,false" {
		t.Errorf("app:alone, built on nothing the catalog has, has base %q", got)
	}
	if got := rows[debian+":12"]; got != ",,,,false" {
		t.Errorf("debian:12 has base %q", got)
	}
	if _, ok := rows[app+":"+onBuilt.Tags[0]]; !ok || len(rows) != 5 {
		t.Errorf("lineage rows %v, want one per tag", rows)
	}

	// debian:12 is rebuilt and pushed again; the next import moves the tag.
	moved := push(testregistry.ImageSpec{Repository: "library/debian", Tags: []string{"12"}, Format: testregistry.OCI, Seed: 10, Layers: 2})
	importAll()
	rows = lineageCSV(t, db)
	outdated := strings.Join([]string{debian, "12", base.Digest.String(), moved.Digest.String(), "true"}, ",")
	for _, tag := range []string{"built", "annotated"} {
		if got := rows[app+":"+tag]; got != outdated {
			t.Errorf("after debian:12 moved, app:%s on %q, want %q", tag, got, outdated)
		}
	}
	if got := rows[app+":alone"]; got != ",,,,false" {
		t.Errorf("app:alone after the move: %q", got)
	}
	if got := rows[app+":on-built"]; !strings.HasSuffix(got, ",false") || !strings.HasPrefix(got, app+",built,") {
		t.Errorf("app:on-built, whose base app:built did not move: %q", got)
	}
}
