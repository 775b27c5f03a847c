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
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/report/reporttest"
)

// reportRepositories is how many repositories the report catalogs spread
// their images over.
const reportRepositories = 50

// reportCatalog writes a catalog of images over runs import runs into the
// SQLite file path, through the catalog's own writer (reporttest.Generate).
func reportCatalog(ctx context.Context, path string, images, runs int) error {
	clock := reporttest.NewClock(time.Now().Add(-time.Duration(runs) * 7 * time.Hour))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		return err
	}
	if _, err := reporttest.Generate(ctx, cat, clock, reporttest.Spec{Images: images, Runs: runs, Repositories: reportRepositories, Seed: 1}); err != nil {
		cat.Close()
		return fmt.Errorf("build the report catalog: %w", err)
	}
	return cat.Close()
}

// runReport runs one measured `regimport report` of db (a SQLite file or
// a PostgreSQL URL) in format into the file out, comparing with run 1.
func runReport(ctx context.Context, c config, db, format, out string) (measuredRun, error) {
	r, err := runMeasured(ctx, c.client, []string{c.bin, "report", "--db", db, "--format", format, "-o", out, "--since", "1", "--log-level", "error"}, io.Discard, nil)
	return measuredRun{procRun: r}, err
}

// formatFigures is one format's reports of one catalog over the rounds.
type formatFigures struct {
	format      string
	runs        []measuredRun
	outputBytes int64
}

// reportFormats renders db in every format, c.rounds times each, and
// counts the inventory rows of the CSV.
func reportFormats(ctx context.Context, c config, db string) ([]formatFigures, int, error) {
	var figures []formatFigures
	rows := 0
	for _, format := range []string{"html", "json", "csv", "md"} {
		out := filepath.Join(c.work, "report."+format)
		f := formatFigures{format: format}
		for range c.rounds {
			r, err := runReport(ctx, c, db, format, out)
			if err != nil {
				return nil, 0, err
			}
			f.runs = append(f.runs, r)
		}
		if fi, err := os.Stat(out); err == nil {
			f.outputBytes = fi.Size()
		}
		if format == "csv" {
			n, err := countCSVRecords(out)
			if err != nil {
				return nil, 0, err
			}
			rows = n - 1
		}
		figures = append(figures, f)
	}
	return figures, rows, nil
}

func countCSVRecords(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		n++
	}
}
