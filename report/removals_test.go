package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

// A run that removed a tag and a repository: the changes list them as
// removed, the inventory no longer has them, and their images are listed
// as unreferenced since the removal.
func TestReportListsRemovalsAndUnreferencedImages(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a1, a2, w1 := rt.Image{Seed: "r-a1", Repository: app}, rt.Image{Seed: "r-a2", Repository: app}, rt.Image{Seed: "r-w1", Repository: web}
	must(t, run(ctx, cat, "regimport import --catalog registry.example.com", []any{a1.Record(), a2.Record(), w1.Record(),
		rt.Tag(app, "1.0", a1.Digest()), rt.Tag(app, "1.1", a2.Digest()), rt.Tag(web, "stable", w1.Digest())}))
	clock.Skip(24 * time.Hour)
	removedAt := clock.Now()
	must(t, run(ctx, cat, "regimport import --catalog registry.example.com", []any{
		catalog.TagRemoval{Repository: app, Tags: []string{"1.1"}, Reason: catalog.ReasonNotListed},
		rt.RepositoryRemoval(web),
	}))
	cat.Close()

	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON}))
	c := d.Summary.Changes
	if c.TagsRemoved == nil || *c.TagsRemoved != 2 || c.RepositoriesRemoved != 1 || c.TagsAdded != 0 || c.TagsMoved != 0 {
		t.Errorf("change counts %+v", c)
	}
	var removed []string
	for _, tc := range d.TagChanges {
		if tc.Change != "removed" || tc.To != "" || tc.Run != 2 {
			t.Errorf("tag change %+v, want a removal in run 2", tc)
		}
		removed = append(removed, tc.Repository+":"+tc.Tag+"@"+tc.From)
	}
	if want := []string{app + ":1.1@" + a2.Digest(), web + ":stable@" + w1.Digest()}; !slices.Equal(removed, want) {
		t.Errorf("removed tags %v, want %v", removed, want)
	}
	if len(d.RepositoryChanges) != 1 || d.RepositoryChanges[0].Repository != web || d.RepositoryChanges[0].Run != 2 {
		t.Errorf("repository changes %+v", d.RepositoryChanges)
	}
	for _, row := range d.Inventory {
		if row.Tag == "1.1" || row.Tag == "stable" {
			t.Errorf("removed tag still in the inventory: %+v", row)
		}
	}
	var unref []string
	for _, u := range d.UnreferencedImages {
		unref = append(unref, u.Digest)
		if u.Since.Sub(removedAt).Abs() > time.Second {
			t.Errorf("%s unreferenced since %s, want the removal at %s", u.Digest, u.Since, removedAt)
		}
	}
	slices.Sort(unref)
	want := []string{a2.Digest(), w1.Digest()}
	slices.Sort(want)
	if !slices.Equal(unref, want) || d.Summary.UnreferencedImages != 2 {
		t.Errorf("unreferenced %v (summary %d), want %v", unref, d.Summary.UnreferencedImages, want)
	}
	if len(d.Runs) != 2 || d.Runs[1].TagsRemoved != 2 {
		t.Errorf("runs %+v", d.Runs)
	}

	// The CSV tag-changes table has the removals with change "removed".
	rows, err := csv.NewReader(bytes.NewReader(render(t, path, report.Options{Format: report.FormatCSV, Table: "tag-changes"}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || strings.Join(rows[0], ",") != "repository,tag,change,from,to,at,run" || rows[1][2] != "removed" || rows[1][3] != a2.Digest() {
		t.Errorf("CSV tag-changes %v", rows)
	}
	md := string(render(t, path, report.Options{Format: report.FormatMarkdown}))
	for _, s := range []string{"## Repositories removed", "| " + web + " | removed |", "## Images no tag references"} {
		if !strings.Contains(md, s) {
			t.Errorf("Markdown lacks %q", s)
		}
	}
}
