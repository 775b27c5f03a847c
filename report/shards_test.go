package report_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

// The shards of a sharded run share their command line; the report names
// each run's shard and group, so a reader can tell them apart and put
// them together. An unsharded run has no shard.
func TestReportNamesEachRunsShard(t *testing.T) {
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	must(t, run(ctx, cat, "regimport import --catalog registry.example.com", nil))
	const cmd = "regimport import --shards 2 --catalog registry.example.com"
	for i := range 2 {
		id, err := cat.BeginRun(ctx, cmd, catalog.Shard{Index: i, Count: 2, Group: "nightly-7"})
		if err != nil {
			t.Fatal(err)
		}
		must(t, cat.FinishRun(ctx, id, catalog.RunSucceeded, catalog.RunCounts{}, nil))
	}
	cat.Close()

	d := decode(t, render(t, path, report.Options{Format: report.FormatJSON}))
	if len(d.Runs) != 3 {
		t.Fatalf("%d runs, want 3", len(d.Runs))
	}
	if d.Runs[0].Shard != nil {
		t.Errorf("the unsharded run has a shard: %+v", d.Runs[0].Shard)
	}
	for i, r := range d.Runs[1:] {
		if want := (catalog.Shard{Index: i, Count: 2, Group: "nightly-7"}); r.Shard == nil || *r.Shard != want {
			t.Errorf("run %d: shard %+v, want %+v", r.ID, r.Shard, want)
		}
	}
	csv := string(render(t, path, report.Options{Format: report.FormatCSV, Table: "runs"}))
	for i := range 2 {
		if want := `shard ` + string(rune('0'+i)) + `/2 of ""nightly-7"": ` + cmd; !strings.Contains(csv, want) {
			t.Errorf("the runs table lacks %q:\n%s", want, csv)
		}
	}
	html := string(render(t, path, report.Options{Format: report.FormatHTML}))
	if want := "shard 1/2 of &#34;nightly-7&#34;: " + cmd; !strings.Contains(html, want) {
		t.Errorf("the HTML report lacks %q", want)
	}
}
