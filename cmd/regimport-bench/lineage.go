package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/report/reporttest"
)

// lineageRepositories is how many application repositories the lineage
// catalogs spread their images over.
const lineageRepositories = 200

// lineageSize is the lineage section's figures for one catalog size.
type lineageSize struct {
	gen      reporttest.LineageGenerated
	without  []measuredRun // `report --format csv --table summary`: the report's common work, no lineage
	lineage  []measuredRun // `report --format csv --table lineage`
	full     []measuredRun // `report --format json`: every section, lineage included
	withBase int           // lineage rows of applications that name a base
	outdated int           // of which on an outdated base
}

// lineageBench is the lineage section: for each size in c.lineageImages it
// writes a SQLite catalog of that many single images built on one another
// (reporttest.GenerateLineage: OS bases, runtimes, applications of 5-20
// layers, a second run moving half the base tags), then times the report
// without lineage (the summary table as CSV: every section's aggregates,
// no long list), the lineage table as CSV and the
// whole JSON report, c.rounds rounds taking turns at going first. The
// lineage table is checked: every application has its base, and exactly
// those on moved bases are outdated.
func lineageBench(ctx context.Context, c config, out io.Writer) (block, error) {
	var sizes []lineageSize
	for _, n := range c.lineageImages {
		s, err := lineageRounds(ctx, c, n, out)
		if err != nil {
			return block{}, err
		}
		sizes = append(sizes, s)
	}
	return lineageBlock(c, sizes), nil
}

func lineageRounds(ctx context.Context, c config, n int, out io.Writer) (lineageSize, error) {
	var s lineageSize
	db := filepath.Join(c.work, fmt.Sprintf("lineage-%d.db", n))
	start := time.Now()
	clock := reporttest.NewClock(time.Now().Add(-48 * time.Hour))
	cat, err := catalogdb.Open(ctx, db, catalog.Options{Now: clock.Now})
	if err != nil {
		return s, err
	}
	s.gen, err = reporttest.GenerateLineage(ctx, cat, clock, reporttest.LineageSpec{Images: n, Repositories: lineageRepositories, Seed: 1})
	if cerr := cat.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return s, fmt.Errorf("build the lineage catalog: %w", err)
	}
	fmt.Fprintf(out, "lineage: catalog of %d images (%d layers) written in %s\n", s.gen.Images, s.gen.Layers, time.Since(start).Round(time.Millisecond))
	csvOut := filepath.Join(c.work, "lineage.csv")
	measure := func(dst *[]measuredRun, args ...string) func(int) error {
		return func(int) error {
			r, err := runMeasured(ctx, c.client, append([]string{c.bin, "report", "--db", db, "--log-level", "error"}, args...), io.Discard, nil)
			*dst = append(*dst, measuredRun{procRun: r})
			return err
		}
	}
	if err := alternate(c.rounds,
		measure(&s.without, "--format", "csv", "--table", "summary", "-o", filepath.Join(c.work, "summary.csv")),
		measure(&s.lineage, "--format", "csv", "--table", "lineage", "-o", csvOut),
		measure(&s.full, "--format", "json", "-o", filepath.Join(c.work, "lineage.json")),
	); err != nil {
		return s, err
	}
	if s.withBase, s.outdated, err = countLineage(csvOut); err != nil {
		return s, err
	}
	if s.withBase != s.gen.Apps || s.outdated != s.gen.OnMovedBases {
		return s, fmt.Errorf("lineage of %d images: %d applications with a base (want %d), %d outdated (want %d)",
			n, s.withBase, s.gen.Apps, s.outdated, s.gen.OnMovedBases)
	}
	for i := range s.lineage {
		fmt.Fprintf(out, "lineage %d images, round %d: without %s, lineage table %s, whole JSON report %s\n", n, i+1,
			s.without[i].Wall.Round(time.Millisecond), s.lineage[i].Wall.Round(time.Millisecond), s.full[i].Wall.Round(time.Millisecond))
	}
	return s, nil
}

// countLineage counts the applications' rows of a lineage CSV that name a
// base, and of those the ones on an outdated base.
func countLineage(path string) (withBase, outdated int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	if _, err := r.Read(); err != nil {
		return 0, 0, fmt.Errorf("%s: %w", path, err)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return withBase, outdated, nil
		}
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", path, err)
		}
		if !strings.Contains(rec[0], "/apps-") || rec[5] == "" {
			continue
		}
		withBase++
		if rec[7] == "true" {
			outdated++
		}
	}
}

func lineageBlock(c config, sizes []lineageSize) block {
	var b strings.Builder
	b.WriteString("| images (layers) | report without lineage | lineage table | lineage / without, round by round | whole JSON report | peak memory without / lineage | applications with a base (on an outdated one) |\n|---|---|---|---|---|---|---|\n")
	for _, s := range sizes {
		fmt.Fprintf(&b, "| %d (%d) | %s | %s | **%s** | %s | %s / %s | %d (%d) |\n", s.gen.Images, s.gen.Layers,
			over(field(s.without, wallSeconds)).value("%.2f s"), over(field(s.lineage, wallSeconds)).value("%.2f s"),
			ratios(field(s.lineage, wallSeconds), field(s.without, wallSeconds)).times(),
			over(field(s.full, wallSeconds)).value("%.2f s"), peakOf(s.without), peakOf(s.lineage), s.withBase, s.outdated)
	}
	if len(sizes) > 1 {
		first, last := sizes[0], sizes[len(sizes)-1]
		growth := func(f func(lineageSize) []measuredRun) float64 {
			return median(field(f(last), wallSeconds)) / median(field(f(first), wallSeconds))
		}
		extra := func(s lineageSize) float64 {
			return median(field(s.lineage, wallSeconds)) - median(field(s.without, wallSeconds))
		}
		fmt.Fprintf(&b, "\nFrom %d to %d images (%.0f×), the lineage table's time grows **%.1f×** (the report without it %.1f×; quadratic growth would be %.0f×). What lineage adds to the report (the medians' difference) is %.2f s at %d images and %.2f s at %d",
			first.gen.Images, last.gen.Images, float64(last.gen.Images)/float64(first.gen.Images),
			growth(func(s lineageSize) []measuredRun { return s.lineage }), growth(func(s lineageSize) []measuredRun { return s.without }),
			(float64(last.gen.Images)/float64(first.gen.Images))*(float64(last.gen.Images)/float64(first.gen.Images)),
			extra(first), first.gen.Images, extra(last), last.gen.Images)
		if extra(first) > 0 && extra(last) > 0 {
			fmt.Fprintf(&b, " (%.1f×)", extra(last)/extra(first))
		}
		b.WriteString("; a difference at or below zero is within the noise of the machine.\n")
	}
	b.WriteString("\nEach catalog is written into SQLite through the catalog's writer (`reporttest.GenerateLineage`): " +
		"12 OS base images of 1-3 layers, 60 runtimes of 2-5 layers more on them, and applications of 2-12 layers more on a runtime or an OS base (5-20 layers each) over " +
		fmt.Sprint(lineageRepositories) + " repositories, one in ten also naming its base in the OCI base annotations; a second import run moves half the OS and runtime tags to new images. " +
		"Each figure is one `regimport report` process, start to exit, through the same launcher as every measured process: \"without lineage\" is `--format csv --table summary` (the work every report does: the snapshot's scope tables and every section's aggregates, and no long list), " +
		"\"lineage table\" is `--format csv --table lineage` (the same common work, then every image's base and the bases' tag history), \"whole JSON report\" is `--format json`, every section, lineage included. " +
		"The three take turns at going first; medians with the lowest and highest in brackets. The lineage CSV is checked: every application names its base, and exactly those on a base whose tag moved are outdated. " +
		"SQLite only: the SQL lineage runs is a handful of full scans (layers, manifests that mention the base annotations, list entries, tag history), the same on PostgreSQL, where the report's tests run it too.\n")
	return block{
		name:  "lineage",
		title: "Lineage: the report with and without every image's base",
		flags: fmt.Sprintf("-lineage-images %s -rounds %d", joinInts(c.lineageImages), c.rounds),
		body:  b.String(),
	}
}
