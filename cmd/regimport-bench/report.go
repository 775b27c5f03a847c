package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// reportSize is the report section's figures for one catalog size.
type reportSize struct {
	images         int
	migrate        measuredRun     // `regimport migrate --from SQLITE --to POSTGRES`
	afterMigrate   measuredRun     // the first PostgreSQL report, right after migrate
	sqlite, postgr []measuredRun   // the rounds
	jsonDiff       []string        // the JSON report's top-level keys that differ between the backends
	formats        []formatFigures // every format on SQLite
	inventoryRows  int
}

// reportBench is the report section: for each size in c.reportImages it
// writes a SQLite catalog of that many images over c.reportRuns runs,
// copies it to a new PostgreSQL database with `regimport migrate --from
// --to`, and times `regimport report` (JSON) on each, c.rounds rounds
// taking turns at going first. Then every format on SQLite, for the
// formats' time and peak memory.
func reportBench(ctx context.Context, c config, out io.Writer) (block, error) {
	pg, err := startPG(ctx, c, out)
	if err != nil {
		return block{}, err
	}
	defer pg.close()
	var sizes []reportSize
	for _, n := range c.reportImages {
		s, err := reportSizeRounds(ctx, c, pg, n, out)
		if err != nil {
			return block{}, err
		}
		sizes = append(sizes, s)
	}
	return reportBlock(c, sizes), nil
}

func reportSizeRounds(ctx context.Context, c config, pg *pgServer, n int, out io.Writer) (reportSize, error) {
	s := reportSize{images: n}
	sq := filepath.Join(c.work, fmt.Sprintf("report-%d.db", n))
	start := time.Now()
	if err := reportCatalog(ctx, sq, n, c.reportRuns); err != nil {
		return s, err
	}
	fmt.Fprintf(out, "report: catalog of %d images over %d runs written in %s\n", n, c.reportRuns, time.Since(start).Round(time.Millisecond))
	pgDB, err := pg.newDatabase(ctx, fmt.Sprintf("bench_report_%d", n))
	if err != nil {
		return s, err
	}
	r, err := runMeasured(ctx, c.client, []string{c.bin, "migrate", "--from", sq, "--to", pgDB, "--log-level", "error"}, io.Discard, nil)
	if err != nil {
		return s, err
	}
	s.migrate = measuredRun{procRun: r}
	sqOut, pgOut := filepath.Join(c.work, "report-sqlite.json"), filepath.Join(c.work, "report-postgres.json")
	if s.afterMigrate, err = runReport(ctx, c, pgDB, "json", pgOut); err != nil {
		return s, err
	}
	sqlite := func(round int) error {
		r, err := runReport(ctx, c, sq, "json", sqOut)
		s.sqlite = append(s.sqlite, r)
		return err
	}
	postgres := func(round int) error {
		r, err := runReport(ctx, c, pgDB, "json", pgOut)
		s.postgr = append(s.postgr, r)
		return err
	}
	if err := alternate(c.rounds, sqlite, postgres); err != nil {
		return s, err
	}
	a, errA := os.ReadFile(sqOut)
	b, errB := os.ReadFile(pgOut)
	if errA != nil || errB != nil {
		return s, fmt.Errorf("read the JSON reports: %v, %v", errA, errB)
	}
	if s.jsonDiff, err = reportJSONDiff(a, b); err != nil {
		return s, err
	}
	for i := range s.sqlite {
		fmt.Fprintf(out, "report %d images, round %d: SQLite %s, PostgreSQL %s\n", n, i+1, s.sqlite[i].Wall.Round(time.Millisecond), s.postgr[i].Wall.Round(time.Millisecond))
	}
	if s.formats, s.inventoryRows, err = reportFormats(ctx, c, sq); err != nil {
		return s, err
	}
	return s, nil
}

// reportJSONDiff names the top-level keys of two JSON reports whose values
// differ, order of arrays included, leaving out those that describe the
// catalog itself rather than its contents.
func reportJSONDiff(a, b []byte) ([]string, error) {
	var x, y map[string]json.RawMessage
	if err := json.Unmarshal(a, &x); err != nil {
		return nil, fmt.Errorf("the SQLite JSON report: %w", err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		return nil, fmt.Errorf("the PostgreSQL JSON report: %w", err)
	}
	var diff []string
	for k := range x {
		if _, ok := y[k]; !ok {
			y[k] = nil
		}
	}
	for k, v := range y {
		switch k {
		case "generatedAt", "catalog", "storage":
			continue
		}
		if !bytes.Equal(x[k], v) {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return diff, nil
}

func reportBlock(c config, sizes []reportSize) block {
	var b strings.Builder
	b.WriteString("| images (inventory rows) | `migrate` to PostgreSQL | first report after it | SQLite | PostgreSQL | PostgreSQL / SQLite, round by round | same JSON report |\n|---|---|---|---|---|---|---|\n")
	for _, s := range sizes {
		same := "yes"
		if len(s.jsonDiff) > 0 {
			same = "no: " + strings.Join(s.jsonDiff, ", ")
		}
		fmt.Fprintf(&b, "| %d (%d) | %.2f s | %.2f s | %s | %s | **%s** | %s |\n", s.images, s.inventoryRows,
			s.migrate.Wall.Seconds(), s.afterMigrate.Wall.Seconds(),
			over(field(s.sqlite, wallSeconds)).value("%.2f s"), over(field(s.postgr, wallSeconds)).value("%.2f s"),
			ratios(field(s.postgr, wallSeconds), field(s.sqlite, wallSeconds)).times(), same)
	}
	if len(sizes) > 1 {
		first, last := sizes[0], sizes[len(sizes)-1]
		growth := func(f func(reportSize) []measuredRun) float64 {
			return median(field(f(last), wallSeconds)) / median(field(f(first), wallSeconds))
		}
		fmt.Fprintf(&b, "\nFrom %d to %d images (%.0f×), the report's time grows **%.1f×** on SQLite and **%.1f×** on PostgreSQL (ratios of the medians).\n",
			first.images, last.images, float64(last.images)/float64(first.images),
			growth(func(s reportSize) []measuredRun { return s.sqlite }), growth(func(s reportSize) []measuredRun { return s.postgr }))
	}
	b.WriteString("\nEach catalog is written into SQLite through the catalog's writer (" + fmt.Sprint(c.reportRuns) + " import runs over " + fmt.Sprint(reportRepositories) + " repositories, images changing between runs), then copied into a new database on a throwaway PostgreSQL server (`scripts/pg-cluster`, fsync off) by `regimport migrate --from --to`. " +
		"Each figure is one `regimport report --format json --since 1` process, start to exit, through the same launcher as every measured process; the first report after `migrate` is shown apart and left out of the rounds. " +
		"The two backends take turns at going first; the medians are given with the lowest and highest in brackets. \"Same JSON report\" compares the last round's two reports key by key, leaving out `generatedAt`, `catalog` and `storage`, which describe the catalog rather than its contents; where they differ it names the keys (the order of rows counts).\n\n")
	last := sizes[len(sizes)-1]
	fmt.Fprintf(&b, "Every format of the %d-image catalog on SQLite, %d rounds each:\n\n", last.images, c.rounds)
	b.WriteString("| format | time | peak memory (maxrss) | output |\n|---|---|---|---|\n")
	for _, f := range last.formats {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f MiB |\n", f.format, over(field(f.runs, wallSeconds)).value("%.2f s"), peakOf(f.runs), float64(f.outputBytes)/(1<<20))
	}
	if len(sizes) > 1 && len(sizes[0].formats) > 0 && len(last.formats) > 0 {
		small, big := median(field(sizes[0].formats[0].runs, peakMiB)), median(field(last.formats[0].runs, peakMiB))
		fmt.Fprintf(&b, "\nPeak memory of the HTML report: %.0f MiB at %d images, %.0f MiB at %d (%.2f×).\n", small, sizes[0].images, big, last.images, big/small)
	}
	return block{
		name:  "report",
		title: "Audit report: SQLite against its copy on PostgreSQL",
		flags: fmt.Sprintf("-report-images %s -report-runs %d -rounds %d", joinInts(c.reportImages), c.reportRuns, c.rounds),
		body:  b.String(),
	}
}
