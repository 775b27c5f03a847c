package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

const (
	lnDebian = "registry.example.com/library/debian"
	lnPython = "registry.example.com/runtime/python"
	lnApp    = "registry.example.com/team/lineage"
)

// lineageOf renders the JSON report of path and returns its lineage rows
// by repository:tag (repository@digest when untagged; a tag with a row
// per platform image is left out).
func lineageOf(t *testing.T, path string) map[string]report.LineageRow {
	t.Helper()
	out := map[string]report.LineageRow{}
	for _, r := range decode(t, render(t, path, report.Options{Format: report.FormatJSON})).Lineage {
		key := r.Repository + ":" + r.Tag
		if r.Tag == "" {
			key = r.Repository + "@" + r.Digest
		}
		if _, dup := out[key]; dup {
			out[key] = report.LineageRow{Repository: "several rows"}
			continue
		}
		out[key] = r
	}
	return out
}

func wantBase(t *testing.T, rows map[string]report.LineageRow, key string, want report.LineageRow) {
	t.Helper()
	got, ok := rows[key]
	if !ok {
		t.Errorf("no lineage row for %s", key)
		return
	}
	want.Repository, want.Tag, want.Digest = got.Repository, got.Tag, got.Digest
	if got != want {
		t.Errorf("lineage of %s:\n got  %+v\n want %+v", key, got, want)
	}
}

// Images built on bases, found by layers and by annotations; the base's
// tag moves on and the images built on the old base are marked outdated.
func TestLineageFindsBasesAndOutdatedTags(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	open := func() catalog.Catalog {
		cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return cat
	}
	l := func(seeds ...string) []rt.Layer {
		var out []rt.Layer
		for _, s := range seeds {
			out = append(out, rt.Layer{Seed: s, Size: 1 << 20})
		}
		return out
	}
	d1 := rt.Image{Seed: "ln-d1", Repository: lnDebian, Layers: l("deb-1")}
	p1 := rt.Image{Seed: "ln-p1", Repository: lnPython, Layers: l("deb-1", "py-1")}
	a1 := rt.Image{Seed: "ln-a1", Repository: lnApp, Layers: l("deb-1", "py-1", "app-1")} // on python, not debian: the longer prefix
	a2 := rt.Image{Seed: "ln-a2", Repository: lnApp, Layers: l("deb-1", "app-2")}
	z := rt.Image{Seed: "ln-z", Repository: lnApp, Layers: l("z-1")}
	gone := "sha256:" + strings.Repeat("f", 64)
	// Annotated: a base the catalog never saw, under a tag it does not have.
	n1 := rt.Image{Seed: "ln-n1", Repository: lnApp, Layers: l("deb-1", "n-1"), Annotations: map[string]string{
		"org.opencontainers.image.base.name": lnDebian + ":11", "org.opencontainers.image.base.digest": gone}}
	// Annotated: the annotation wins over layers that say otherwise.
	n2 := rt.Image{Seed: "ln-n2", Repository: lnApp, Layers: l("deb-1", "py-1", "n-2"), Annotations: map[string]string{
		"org.opencontainers.image.base.name": lnDebian + ":12", "org.opencontainers.image.base.digest": d1.Digest()}}
	// An annotation that does not parse names no base: layers decide.
	n3 := rt.Image{Seed: "ln-n3", Repository: lnApp, Layers: l("deb-1", "n-3"), Annotations: map[string]string{
		"org.opencontainers.image.base.name": "Not A Reference!", "org.opencontainers.image.base.digest": "sha256:short"}}
	cat := open()
	must(t, run(ctx, cat, "regimport import", []any{d1.Record(), p1.Record(), a1.Record(), a2.Record(), z.Record(), n1.Record(), n2.Record(), n3.Record(),
		rt.Tag(lnDebian, "12", d1.Digest()), rt.Tag(lnDebian, "latest", d1.Digest()), rt.Tag(lnPython, "3.12", p1.Digest()),
		rt.Tag(lnApp, "1", a1.Digest()), rt.Tag(lnApp, "2", a2.Digest()), rt.Tag(lnApp, "z", z.Digest()),
		rt.Tag(lnApp, "n1", n1.Digest()), rt.Tag(lnApp, "n2", n2.Digest()), rt.Tag(lnApp, "n3", n3.Digest())}))
	cat.Close()

	rows := lineageOf(t, path)
	onD1 := report.LineageRow{BaseRepository: lnDebian, BaseTag: "12", BaseDigest: d1.Digest(), BaseCurrentDigest: d1.Digest()}
	onP1 := report.LineageRow{BaseRepository: lnPython, BaseTag: "3.12", BaseDigest: p1.Digest(), BaseCurrentDigest: p1.Digest()}
	wantBase(t, rows, lnApp+":1", onP1)
	wantBase(t, rows, lnApp+":2", onD1) // debian:12 was seen first; latest points there too
	wantBase(t, rows, lnApp+":n3", onD1)
	wantBase(t, rows, lnPython+":3.12", onD1)
	wantBase(t, rows, lnApp+":z", report.LineageRow{})
	wantBase(t, rows, lnDebian+":12", report.LineageRow{})
	wantBase(t, rows, lnApp+":n1", report.LineageRow{BaseRepository: lnDebian, BaseTag: "11", BaseDigest: gone})
	wantBase(t, rows, lnApp+":n2", onD1)
	if len(rows) != 9 {
		t.Errorf("%d lineage rows, want one per tag: 9", len(rows))
	}

	// debian:12 moves on; latest stays. Everything built on the old
	// debian:12 is outdated, by layers or by annotation.
	d2 := rt.Image{Seed: "ln-d2", Repository: lnDebian, Layers: l("deb-2")}
	clock.Skip(24 * time.Hour)
	cat = open()
	must(t, run(ctx, cat, "regimport import", []any{d2.Record(), rt.Tag(lnDebian, "12", d2.Digest())}))
	cat.Close()
	rows = lineageOf(t, path)
	outdated := report.LineageRow{BaseRepository: lnDebian, BaseTag: "12", BaseDigest: d1.Digest(), BaseCurrentDigest: d2.Digest(), BaseOutdated: true}
	wantBase(t, rows, lnApp+":2", outdated)
	wantBase(t, rows, lnApp+":n2", outdated)
	wantBase(t, rows, lnPython+":3.12", outdated)
	wantBase(t, rows, lnApp+":1", onP1) // python:3.12 itself did not move
	wantBase(t, rows, lnDebian+":12", report.LineageRow{})

	// The CSV table has the documented columns and the same rows.
	recs, err := csv.NewReader(bytes.NewReader(render(t, path, report.Options{Format: report.FormatCSV, Table: "lineage"}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(recs[0], ","); got != "repository,tag,digest,baseRepository,baseTag,baseDigest,baseCurrentDigest,baseOutdated" {
		t.Errorf("CSV header %s", got)
	}
	found := false
	for _, r := range recs[1:] {
		if r[0] == lnApp && r[1] == "2" {
			found = true
			if want := []string{lnDebian, "12", d1.Digest(), d2.Digest(), "true"}; strings.Join(r[3:], ",") != strings.Join(want, ",") {
				t.Errorf("CSV row of app:2: %v", r)
			}
		}
	}
	if !found || len(recs) != 10 {
		t.Errorf("CSV: %d records, app:2 found %v", len(recs), found)
	}
	md := string(render(t, path, report.Options{Format: report.FormatMarkdown, Table: "lineage"}))
	if !strings.Contains(md, "| "+lnApp+" | 2 | "+a2.Digest()+" | "+lnDebian+" | 12 | "+d1.Digest()+" | "+d2.Digest()+" | true |") {
		t.Errorf("Markdown lineage lacks app:2 on the outdated base:\n%s", md)
	}

	// --repository narrows the rows, not the bases: the base stays named.
	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON, Repository: lnApp}))
	for _, r := range d.Lineage {
		if r.Repository != lnApp {
			t.Errorf("filtered lineage has %s", r.Repository)
		}
		if r.Tag == "2" && r.BaseDigest != d1.Digest() {
			t.Errorf("filtered lineage lost app:2's base: %+v", r)
		}
	}
}

// An image whose layers equal another's is not its base, either way; an
// image built on both takes the first by digest. A list's tag has a row
// per platform image, and a base seen only through a list's tag is
// outdated when that tag moves to another list.
func TestLineageEqualLayersAndLists(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	one := []rt.Layer{{Seed: "eq-1", Size: 100}}
	x := rt.Image{Seed: "eq-x", Repository: lnDebian, Layers: one}
	y := rt.Image{Seed: "eq-y", Repository: lnDebian, Layers: one} // the same layers, another manifest
	on := rt.Image{Seed: "eq-on", Repository: lnApp, Layers: append(one, rt.Layer{Seed: "eq-2", Size: 100})}
	// A multi-platform base (a list of amd64 and arm64) and an app image per platform.
	bAmd := rt.Image{Seed: "eq-b-amd", Repository: lnPython, Layers: []rt.Layer{{Seed: "py-amd", Size: 100}}}
	bArm := rt.Image{Seed: "eq-b-arm", Repository: lnPython, Arch: "arm64", Layers: []rt.Layer{{Seed: "py-arm", Size: 100}}}
	bList := rt.List("eq-b-list", lnPython, bAmd, bArm)
	appAmd := rt.Image{Seed: "eq-app-amd", Repository: lnApp, Layers: append(bAmd.Layers, rt.Layer{Seed: "app-amd", Size: 100})}
	appArm := rt.Image{Seed: "eq-app-arm", Repository: lnApp, Arch: "arm64", Layers: append(bArm.Layers, rt.Layer{Seed: "app-arm", Size: 100})}
	appList := rt.List("eq-app-list", lnApp, appAmd, appArm)
	must(t, run(ctx, cat, "regimport import", []any{x.Record(), y.Record(), on.Record(), bAmd.Record(), bArm.Record(), bList, appAmd.Record(), appArm.Record(), appList,
		rt.Tag(lnDebian, "x", x.Digest()), rt.Tag(lnDebian, "y", y.Digest()), rt.Tag(lnApp, "on", on.Digest()),
		rt.Tag(lnPython, "3", bList.Image.Name), rt.Tag(lnApp, "multi", appList.Image.Name)}))
	rows := lineageOf(t, path)
	wantBase(t, rows, lnDebian+":x", report.LineageRow{})
	wantBase(t, rows, lnDebian+":y", report.LineageRow{})
	first, tag := x, "x"
	if y.Digest() < x.Digest() {
		first, tag = y, "y"
	}
	wantBase(t, rows, lnApp+":on", report.LineageRow{BaseRepository: lnDebian, BaseTag: tag, BaseDigest: first.Digest(), BaseCurrentDigest: first.Digest()})

	// app:multi has two rows, one per platform image, each on its own
	// platform's base, seen under python:3 through the base's list.
	var multi []report.LineageRow
	for _, r := range decode(t, render(t, path, report.Options{Format: report.FormatJSON})).Lineage {
		if r.Repository == lnApp && r.Tag == "multi" {
			multi = append(multi, r)
		}
		if r.Repository == lnApp && r.Tag == "" {
			t.Errorf("a platform image of a tagged list has an untagged row too: %+v", r)
		}
	}
	if len(multi) != 2 {
		t.Fatalf("app:multi has %d lineage rows, want one per platform: %+v", len(multi), multi)
	}
	for _, r := range multi {
		want := bAmd.Digest()
		if r.Digest == appArm.Digest() {
			want = bArm.Digest()
		}
		if r.BaseDigest != want || r.BaseRepository != lnPython || r.BaseTag != "3" || r.BaseCurrentDigest != bList.Image.Name || r.BaseOutdated {
			t.Errorf("app:multi platform image %s: %+v, want base %s under python:3", r.Digest, r, want)
		}
	}
	// python:3 moves to a new list: both platform images are on an outdated base.
	nAmd := rt.Image{Seed: "eq-n-amd", Repository: lnPython, Layers: []rt.Layer{{Seed: "py-amd-2", Size: 100}}}
	nList := rt.List("eq-n-list", lnPython, nAmd)
	clock.Skip(time.Hour)
	must(t, run(ctx, cat, "regimport import", []any{nAmd.Record(), nList, rt.Tag(lnPython, "3", nList.Image.Name)}))
	for _, r := range decode(t, render(t, path, report.Options{Format: report.FormatJSON})).Lineage {
		if r.Repository == lnApp && r.Tag == "multi" && (!r.BaseOutdated || r.BaseCurrentDigest != nList.Image.Name) {
			t.Errorf("after python:3 moved: %+v", r)
		}
	}
}

// The HTML report shows each base with the images built on it, outdated
// bases first and flagged, and filters images to those on outdated bases.
func TestLineageHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	l := func(seeds ...string) []rt.Layer {
		var out []rt.Layer
		for _, s := range seeds {
			out = append(out, rt.Layer{Seed: s, Size: 1 << 20})
		}
		return out
	}
	d1 := rt.Image{Seed: "h-d1", Repository: lnDebian, Layers: l("h-deb-1")}
	d2 := rt.Image{Seed: "h-d2", Repository: lnDebian, Layers: l("h-deb-2")}
	p1 := rt.Image{Seed: "h-p1", Repository: lnPython, Layers: l("h-deb-1", "h-py")}
	a1 := rt.Image{Seed: "h-a1", Repository: lnApp, Layers: l("h-deb-1", "h-py", "h-a1")}
	a2 := rt.Image{Seed: "h-a2", Repository: lnApp, Layers: l("h-deb-1", "h-a2")}
	z := rt.Image{Seed: "h-z", Repository: lnApp, Layers: l("h-z")}
	must(t, run(ctx, cat, "regimport import", []any{d1.Record(), p1.Record(), a1.Record(), a2.Record(), z.Record(),
		rt.Tag(lnDebian, "12", d1.Digest()), rt.Tag(lnPython, "3.12", p1.Digest()),
		rt.Tag(lnApp, "1", a1.Digest()), rt.Tag(lnApp, "2", a2.Digest()), rt.Tag(lnApp, "z", z.Digest())}))
	clock.Skip(time.Hour)
	must(t, run(ctx, cat, "regimport import", []any{d2.Record(), rt.Tag(lnDebian, "12", d2.Digest())}))
	cat.Close()
	file := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(file, render(t, path, report.Options{Format: report.FormatHTML}), 0o644); err != nil {
		t.Fatal(err)
	}

	dom := browse(t, bin, file, "", "")
	if !strings.Contains(dom, `id="lineage-counts"><b>3</b> of 6 rows`) {
		t.Errorf("lineage counts do not say 3 of 6 rows have a base")
	}
	if !strings.Contains(dom, `2</b> are built on an outdated base (1 of 2 bases)`) {
		t.Errorf("lineage counts do not say 2 images on 1 outdated base of 2")
	}
	bases := visibleRows(t, dom, "bases")
	if len(bases) != 2 || bases[0][0] != lnDebian+":12" || bases[0][2] != "outdated" || bases[0][3] != d2.Digest() || bases[0][4] != "2" ||
		!strings.Contains(bases[0][5], lnApp+":2") || !strings.Contains(bases[0][5], lnPython+":3.12") {
		t.Errorf("bases table: %v", bases)
	}
	if len(bases) == 2 && (bases[1][0] != lnPython+":3.12" || bases[1][2] != "current" || bases[1][5] != lnApp+":1") {
		t.Errorf("second base: %v", bases[1])
	}
	if rows := visibleRows(t, browse(t, bin, file, "#bases.f=outdated", ""), "bases"); len(rows) != 1 || rows[0][0] != lnDebian+":12" {
		t.Errorf("outdated bases: %v", rows)
	}
	rows := visibleRows(t, browse(t, bin, file, "#lineage.f=outdated", ""), "lineage")
	var got []string
	for _, r := range rows {
		got = append(got, r[0]+":"+r[1])
		if !strings.HasPrefix(r[5], "outdated: its tag now points at "+d2.Digest()) {
			t.Errorf("row %v does not say where the base's tag points now", r)
		}
	}
	if strings.Join(got, " ") != lnPython+":3.12 "+lnApp+":2" && strings.Join(got, " ") != lnApp+":2 "+lnPython+":3.12" {
		t.Errorf("images on outdated bases: %v", got)
	}
	if rows := visibleRows(t, browse(t, bin, file, "#lineage.q=h-nothing", ""), "lineage"); len(rows) != 0 {
		t.Errorf("filter matching nothing shows %v", rows)
	}
}

// A generated catalog of bases, runtimes and applications (the benchmark's,
// smaller): every application has a base, and exactly those on a base
// whose tag moved are outdated.
func TestLineageOfAGeneratedCatalog(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	g, err := rt.GenerateLineage(ctx, cat, clock, rt.LineageSpec{Images: 1500, Repositories: 20, Seed: 3})
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(render(t, path, report.Options{Format: report.FormatCSV, Table: "lineage"}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	apps, outdated := 0, 0
	for _, r := range recs[1:] {
		if !strings.Contains(r[0], "/apps-") {
			continue
		}
		if r[5] != "" {
			apps++
		}
		if r[7] == "true" {
			outdated++
		}
	}
	if g.Images != 1500 || apps != g.Apps || outdated != g.OnMovedBases || outdated == 0 {
		t.Errorf("%d images; %d applications with a base, want %d; %d on an outdated base, want %d", g.Images, apps, g.Apps, outdated, g.OnMovedBases)
	}
}

// A base whose only tag was removed keeps that tag's name, points nowhere
// now and is not called outdated; a base never tagged is named by the
// repository it was imported from.
func TestLineageRemovedAndUntaggedBases(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	gone := rt.Image{Seed: "rm-base", Repository: lnDebian, Layers: []rt.Layer{{Seed: "rm-1", Size: 100}}}
	never := rt.Image{Seed: "rm-never", Repository: lnPython, Layers: []rt.Layer{{Seed: "rm-2", Size: 100}}}
	a := rt.Image{Seed: "rm-a", Repository: lnApp, Layers: []rt.Layer{{Seed: "rm-1", Size: 100}, {Seed: "rm-a", Size: 100}}}
	b := rt.Image{Seed: "rm-b", Repository: lnApp, Layers: []rt.Layer{{Seed: "rm-2", Size: 100}, {Seed: "rm-b", Size: 100}}}
	must(t, run(ctx, cat, "regimport import", []any{gone.Record(), never.Record(), a.Record(), b.Record(),
		rt.Tag(lnDebian, "old", gone.Digest()), rt.Tag(lnApp, "a", a.Digest()), rt.Tag(lnApp, "b", b.Digest())}))
	clock.Skip(time.Hour)
	must(t, run(ctx, cat, "regimport import", []any{catalog.TagRemoval{Repository: lnDebian, Tags: []string{"old"}, Reason: catalog.ReasonNotListed}}))
	rows := lineageOf(t, path)
	wantBase(t, rows, lnApp+":a", report.LineageRow{BaseRepository: lnDebian, BaseTag: "old", BaseDigest: gone.Digest()})
	wantBase(t, rows, lnApp+":b", report.LineageRow{BaseRepository: lnPython, BaseDigest: never.Digest()})
}
