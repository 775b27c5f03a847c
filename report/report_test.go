package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"context"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

func decode(t *testing.T, b []byte) report.Document {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // every key written is a documented field
	var d report.Document
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("decode JSON report: %v\n%s", err, b)
	}
	return d
}

func TestJSONHasTheFacts(t *testing.T) {
	path := buildScenario(t)
	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON}))
	if d.APIVersion != report.APIVersion || d.Kind != "CatalogReport" || !d.GeneratedAt.Equal(reportAt) || d.Catalog.SchemaVersion != catalogdb.SchemaVersion() {
		t.Errorf("header: %+v %+v", d.APIVersion, d.Catalog)
	}
	s := d.Summary
	if s.Images != 10 || s.ManifestLists != 1 || s.Repositories != 4 || s.Tags != 9 || s.Runs != 3 || s.LastRun == nil || s.LastRun.ID != 3 {
		t.Errorf("summary: %+v", s)
	}
	want := report.SignatureCounts{Images: 10, Accepted: 6, Rejected: 1, NoPolicy: 1, Signed: 7, SignedAccepted: 6, Unsigned: 1, NotEvaluated: 2}
	if s.Signatures != want {
		t.Errorf("signature counts\n got %+v\nwant %+v", s.Signatures, want)
	}
	// By default the changes are those since the run before the last: run 3 moved web:old,
	// A2 was re-verified after run 2 ended, run 3 had a failure.
	if c := s.Changes; c.TagsAdded != 0 || c.TagsMoved != 1 || c.ImagesAdded != 0 || c.VerificationChanged != 1 || c.Failures != 1 || c.TagsRemoved == nil || *c.TagsRemoved != 0 {
		t.Errorf("changes since run 2: %+v", c)
	}
	if d.Filter.From.Run != 2 || d.Filter.To.Run != 0 || d.Filter.To.Time != nil {
		t.Errorf("range: %+v", d.Filter)
	}
	if len(d.TagChanges) != 1 || d.TagChanges[0].Tag != "old" || d.TagChanges[0].From != imgW2.Digest() || d.TagChanges[0].To != imgW1.Digest() || d.TagChanges[0].Run != 3 {
		t.Errorf("tag changes: %+v", d.TagChanges)
	}
	// The verdict that changed between runs is in the history: which
	// repository, old -> new, and the signature whose result changed.
	if len(d.ImageChanges) != 2 || d.ImageChanges[0].Digest != imgA2.Digest() || d.ImageChanges[0].Change != "verdict-changed" ||
		d.ImageChanges[0].From != "rejected (UnknownKey)" || d.ImageChanges[0].To != "accepted" || d.ImageChanges[0].SignatureVerdict != "accepted" ||
		len(d.ImageChanges[0].Repositories) != 1 || d.ImageChanges[0].Repositories[0] != "registry.example.com/team/app" ||
		d.ImageChanges[1].Change != "signature-changed" || d.ImageChanges[1].From != "False (UnknownKey)" || d.ImageChanges[1].To != "True (Verified)" {
		t.Errorf("image changes: %+v", d.ImageChanges)
	}

	if len(d.Inventory) != 11 {
		t.Fatalf("inventory has %d rows, want 9 tags + the 2 untagged list entries", len(d.Inventory))
	}
	rows := map[string]report.InventoryRow{}
	for _, r := range d.Inventory {
		rows[r.Repository+":"+r.Tag+"@"+r.Digest[:15]] = r
	}
	latest := rows[app+":latest@"+imgA3.Digest()[:15]]
	if latest.Size != sizeOf(t, imgA3) || latest.Layers != 3 || latest.SignatureVerdict != "accepted" ||
		latest.SignatureStatus != "signed" || !slices.Equal(latest.Signers, []string{"Release Engineering (" + release.KeyID + ")"}) ||
		latest.Architecture != "amd64" || latest.OS != "linux" || latest.Created == nil || !latest.Created.Equal(imgA3.Created) || latest.FirstRun != 2 {
		t.Errorf("app:latest row: %+v", latest)
	}
	if w2 := rows[web+":stable@"+imgW2.Digest()[:15]]; w2.SignatureStatus != "not-evaluated" || w2.SignatureVerdict != "" {
		t.Errorf("never evaluated image: %+v", w2)
	}
	if w1 := rows[web+":old@"+imgW1.Digest()[:15]]; w1.SignatureStatus != "unsigned" || w1.SignatureVerdict != "no-policy" {
		t.Errorf("unsigned image: %+v", w1)
	}
	m1 := rows[multi+":@"+imgM1.Digest()[:15]]
	if m1.Tag != "" || !slices.Equal(m1.ParentLists, []string{listL1.Image.Name}) {
		t.Errorf("list entry row: %+v", m1)
	}
	if l1 := rows[multi+":1@"+listL1.Image.Name[:15]]; l1.Kind != "list" || !slices.Equal(l1.Platforms, []string{"linux/amd64", "linux/arm64"}) || l1.Created != nil {
		t.Errorf("list row: %+v", l1)
	}

	if len(d.Signers) != 3 || d.Signers[0].CommonName != "Release Engineering" || d.Signers[0].Images != 3 || d.Signers[0].Organization != "Example Corp" ||
		!slices.Equal(d.Signers[0].Repositories, []string{app}) {
		t.Errorf("signers: %+v", d.Signers)
	}
	if sg := findSigner(d, "ci@example.com"); sg == nil || sg.IssuerCommonName != "sigstore-intermediate" || !slices.Equal(sg.Types, []string{"sigstore"}) {
		t.Errorf("sigstore signer: %+v", sg)
	}
	if len(d.RejectedImages) != 1 || d.RejectedImages[0].Digest != imgW3.Digest() || d.RejectedImages[0].Reason != "UnknownKey" ||
		!slices.Equal(d.RejectedImages[0].Tags, []string{"edge"}) || !slices.Equal(d.RejectedImages[0].SignatureReasons, []string{"UnknownKey"}) {
		t.Errorf("rejected images: %+v", d.RejectedImages)
	}

	st := d.Storage
	if len(st.LargestImages) == 0 || st.LargestImages[0].Digest != imgA3.Digest() {
		t.Errorf("largest image: %+v", st.LargestImages)
	}
	if s.SharedLayers != 2 || s.SharedLayerBytes != 33*mib || len(st.SharedLayers) != 2 || st.SharedLayers[0].Repositories != 3 || st.SharedLayers[0].Images != 6 {
		t.Errorf("shared layers: %d (%d bytes) %+v", s.SharedLayers, s.SharedLayerBytes, st.SharedLayers)
	}
	appRepo := d.Repositories[0]
	if appRepo.Name != app || appRepo.Images != 3 || appRepo.Tags != 4 || appRepo.Layers != 5 || appRepo.Bytes != 41*mib || appRepo.SharedBytes != 30*mib ||
		appRepo.Signatures.Accepted != 3 {
		t.Errorf("app repository: %+v", appRepo)
	}
	if st.ImagesWithoutCreated != 1 || histogramTotal(st.AgeHistogram) != 8 || histogramTotal(st.SizeHistogram) != 9 {
		t.Errorf("histograms: ages %+v (unknown %d), sizes %+v", st.AgeHistogram, st.ImagesWithoutCreated, st.SizeHistogram)
	}
	if len(d.Runs) != 3 || d.Runs[1].NewImages != 2 || d.Runs[1].TagsAdded != 2 || d.Runs[1].TagsMoved != 2 || d.Runs[1].VerificationChanges != 1 ||
		d.Runs[0].NewImages != 8 || d.Runs[0].InRange || !d.Runs[2].InRange {
		t.Errorf("runs: %+v", d.Runs)
	}
	if len(d.Limitations) == 0 || !strings.Contains(strings.Join(d.Limitations, " "), "recorded as removed only when a complete listing") {
		t.Errorf("limitations: %q", d.Limitations)
	}
}

// sizeOf is the size the image's dockerImageMetadata states.
func sizeOf(t *testing.T, im rt.Image) int64 {
	var m struct{ Size int64 }
	if err := json.Unmarshal(im.Record().Image.DockerImageMetadata.Raw, &m); err != nil {
		t.Fatal(err)
	}
	return m.Size
}

func findSigner(d report.Document, cn string) *report.Signer {
	for i := range d.Signers {
		if d.Signers[i].CommonName == cn {
			return &d.Signers[i]
		}
	}
	return nil
}

func histogramTotal(bs []report.Bucket) int {
	n := 0
	for _, b := range bs {
		n += b.Count
	}
	return n
}

func TestChangesBetweenRuns(t *testing.T) {
	path := buildScenario(t)
	for _, tc := range []struct {
		since                               string
		added, moved, images, reverified, f int
	}{
		{"1", 2, 3, 2, 1, 1},    // since run 1, to now
		{"1..2", 2, 2, 2, 0, 0}, // run 2 alone: A2 was re-verified after it
		{"2..3", 0, 1, 0, 1, 1},
		{"2000-01-01", 9, 0, 10, 1, 2}, // from before anything: everything added, and A2's verdict changed after
	} {
		rg, err := report.ParseRange(tc.since, reportAt)
		if err != nil {
			t.Fatal(err)
		}
		d := decode(t, render(t, path, report.Options{Format: report.FormatJSON, Range: rg}))
		c := d.Summary.Changes
		if c.TagsAdded != tc.added || c.TagsMoved != tc.moved || c.ImagesAdded != tc.images || c.VerificationChanged != tc.reverified || c.Failures != tc.f {
			t.Errorf("--since %s: %+v, want added %d moved %d images %d reverified %d failures %d", tc.since, c, tc.added, tc.moved, tc.images, tc.reverified, tc.f)
		}
		if len(d.TagChanges) != tc.added+tc.moved || len(d.Failures) != tc.f {
			t.Errorf("--since %s: %d tag changes, %d failures listed", tc.since, len(d.TagChanges), len(d.Failures))
		}
	}
	for _, bad := range []string{"7", "3..1", "yesterday"} {
		rg, err := report.ParseRange(bad, reportAt)
		if err == nil {
			_, err = tryRender(path, report.Options{Format: report.FormatJSON, Range: rg})
		}
		if !errors.Is(err, report.ErrUsage) {
			t.Errorf("--since %s: %v, want a usage error", bad, err)
		}
	}
}

func TestRepositoryFilter(t *testing.T) {
	path := buildScenario(t)
	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON, Repository: "*/team/web"}))
	if d.Summary.Images != 3 || d.Summary.Repositories != 1 || len(d.Inventory) != 3 || d.Summary.Signatures.Rejected != 1 {
		t.Errorf("web only: summary %+v, %d rows", d.Summary, len(d.Inventory))
	}
	for _, r := range d.Inventory {
		if r.Repository != web {
			t.Errorf("row of %s in a report of %s", r.Repository, web)
		}
	}
	// Sharing is judged against the whole catalog, not only what the filter shows.
	if d.Summary.SharedLayers != 2 || d.Repositories[0].SharedBytes != 33*mib {
		t.Errorf("web's shared layers: %d, %+v", d.Summary.SharedLayers, d.Repositories)
	}
	none := decode(t, render(t, path, report.Options{Format: report.FormatJSON, Repository: "quay.io/*"}))
	if none.Summary.Images != 0 || len(none.Inventory) != 0 || none.Inventory == nil {
		t.Errorf("no match: %+v, inventory %#v", none.Summary, none.Inventory)
	}
}

func TestCSVParsesWithOneHeaderRow(t *testing.T) {
	path := buildScenario(t)
	recs := parseCSV(t, render(t, path, report.Options{Format: report.FormatCSV}))
	if len(recs) != 12 {
		t.Fatalf("%d records, want a header and 11 rows", len(recs))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, h := range []string{"repository", "tag", "digest", "mediaType", "architecture", "os", "created", "size", "layers", "signatureVerdict", "signers"} {
		if _, ok := col[h]; !ok {
			t.Errorf("inventory CSV lacks column %q: %q", h, recs[0])
		}
	}
	found := false
	for _, r := range recs[1:] {
		if r[col["repository"]] == app && r[col["tag"]] == "latest" {
			found = true
			if r[col["digest"]] != imgA3.Digest() || r[col["signatureVerdict"]] != "accepted" || r[col["created"]] != "2025-05-31T10:00:00Z" ||
				r[col["signers"]] != "Release Engineering ("+release.KeyID+")" || r[col["size"]] != fmt.Sprint(sizeOf(t, imgA3)) {
				t.Errorf("app:latest row: %q", r)
			}
		}
	}
	if !found {
		t.Error("no row for app:latest")
	}
	rg, _ := report.ParseRange("1", reportAt)
	fails := parseCSV(t, render(t, path, report.Options{Format: report.FormatCSV, Table: "failures", Range: rg}))
	if len(fails) != 2 || fails[1][2] != "'"+hostileReason {
		t.Errorf("failures CSV: %q (a formula-like cell must be defused, commas kept)", fails)
	}
	raw := string(render(t, path, report.Options{Format: report.FormatCSV, Table: "failures", Range: rg}))
	if !strings.Contains(raw, "\r\n") || !strings.Contains(raw, `"'`+hostileReason+`"`) {
		t.Errorf("not RFC 4180 (CRLF, quoted comma): %q", raw)
	}
	for _, name := range report.Tables {
		recs := parseCSV(t, render(t, path, report.Options{Format: report.FormatCSV, Table: name}))
		if len(recs) == 0 || len(recs[0]) < 2 {
			t.Errorf("table %s: no header: %q", name, recs)
		}
	}
}

func parseCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll() // also checks every row has the header's width
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, b)
	}
	return recs
}

func TestMarkdownHasTheTables(t *testing.T) {
	path := buildScenario(t)
	md := string(render(t, path, report.Options{Format: report.FormatMarkdown}))
	for _, want := range []string{
		"# Registry catalog report: " + filepath.Base(catalog.RedactDB(path)),
		"**10 images** (1 manifest lists) in **4 repositories**",
		"**6 accepted**, **1 rejected**",
		"## What this report cannot tell",
		"## Inventory\n\n| repository | tag | digest |",
		"| " + app + " | latest | " + imgA3.Digest() + " |",
		"## Signers", "Release Engineering (" + release.KeyID + ")",
		"## Tags added, moved or removed", "| " + web + " | old | moved |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	inv := md[strings.Index(md, "## Inventory"):]
	if end := strings.Index(inv[1:], "\n## "); end >= 0 { // the tables after it
		inv = inv[:end+1]
	}
	if n := strings.Count(inv, "\n| registry."); n != 11 {
		t.Errorf("inventory table has %d rows, want 11", n)
	}
	only := string(render(t, path, report.Options{Format: report.FormatMarkdown, Table: "signers"}))
	if !strings.HasPrefix(only, "## Signers") || strings.Contains(only, "## Inventory") {
		t.Errorf("--table signers: %s", only)
	}
}

func TestEmptyCatalogSaysSo(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	cat, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON}))
	if d.Summary.Images != 0 || d.Inventory == nil || len(d.Inventory) != 0 || d.Runs == nil || d.Summary.LastRun != nil || d.Filter.From.Description != "the empty catalog" {
		t.Errorf("empty catalog JSON: %+v", d)
	}
	if md := string(render(t, path, report.Options{Format: report.FormatMarkdown})); !strings.Contains(md, "The catalog holds no images") {
		t.Errorf("Markdown of an empty catalog does not say so:\n%s", md)
	}
	if h := string(render(t, path, report.Options{Format: report.FormatHTML})); !strings.Contains(h, "The catalog holds no images") {
		t.Error("HTML of an empty catalog does not say so")
	}
	if recs := parseCSV(t, render(t, path, report.Options{Format: report.FormatCSV})); len(recs) != 1 {
		t.Errorf("CSV of an empty catalog: %q, want the header only", recs)
	}
}

func TestRangeParsing(t *testing.T) {
	now := time.Date(2025, 6, 10, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]report.Range{
		"":                        {},
		"4":                       {From: report.Point{Run: 4}},
		"4..9":                    {From: report.Point{Run: 4}, To: report.Point{Run: 9}},
		"2025-06-01":              {From: report.Point{Time: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)}},
		"2025-06-01T12:00:00Z..8": {From: report.Point{Time: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}, To: report.Point{Run: 8}},
		"7d":                      {From: report.Point{Time: now.Add(-7 * 24 * time.Hour)}},
		"36h":                     {From: report.Point{Time: now.Add(-36 * time.Hour)}},
	} {
		got, err := report.ParseRange(in, now)
		if err != nil || got != want {
			t.Errorf("ParseRange(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"0", "-3", "soon", "1..x"} {
		if _, err := report.ParseRange(bad, now); !errors.Is(err, report.ErrUsage) {
			t.Errorf("ParseRange(%q): %v, want ErrUsage", bad, err)
		}
	}
}

func TestBadRequests(t *testing.T) {
	path := buildScenario(t)
	for _, opts := range []report.Options{
		{Format: "pdf"},
		{Format: report.FormatHTML, Table: "inventory"},
		{Format: report.FormatCSV, Table: "everything"},
	} {
		if _, err := tryRender(path, opts); !errors.Is(err, report.ErrUsage) {
			t.Errorf("%+v: %v, want ErrUsage", opts, err)
		}
	}
}
