package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

// A catalog and its `migrate` copy on PostgreSQL give the same JSON
// report, byte for byte, when rows tie on what an ORDER BY once looked
// at: a dozen images stored 70µs apart, several in each millisecond
// (SQLite's julianday() keeps milliseconds, so the SQLite report once
// ordered those by digest and the PostgreSQL one by time). Image changes
// come in the order of the instants they happened, to the microsecond.
func TestReportRowsHaveOneOrderOnBothBackends(t *testing.T) {
	pg := dbtest.NewPostgres(t)
	file := filepath.Join(t.TempDir(), "ties.db")
	ctx := context.Background()
	base := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	var ticks atomic.Int64
	now := func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * 70 * time.Microsecond) }
	cat, err := catalogdb.Open(ctx, file, catalog.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	var ops []any
	for i := range 12 {
		ops = append(ops, rt.Image{Seed: fmt.Sprintf("tie-%d", i), Repository: "registry.example.com/team/ties"}.Record())
	}
	if _, err := rt.Run(ctx, cat, "import ties", ops); err != nil {
		t.Fatal(err)
	}
	cat.Close()
	if code, out, errOut := runCLI(t, "migrate", "--from", file, "--to", pg); code != ExitOK {
		t.Fatalf("migrate: exit %d\n%s%s", code, out, errOut)
	}

	render := func(db string) []byte {
		c, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var buf bytes.Buffer
		if err := report.Write(ctx, &buf, c, report.Options{Format: report.FormatJSON, File: "catalog",
			Range: report.Range{From: report.Point{Time: base.Add(-time.Hour)}},
			Now:   func() time.Time { return base.Add(24 * time.Hour) }}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	onSQLite, onPostgres := render(file), render(pg)
	if !bytes.Equal(onSQLite, onPostgres) {
		a, b := strings.Split(string(onSQLite), "\n"), strings.Split(string(onPostgres), "\n")
		for i := 0; i < len(a) && i < len(b); i++ {
			if a[i] != b[i] {
				t.Fatalf("the reports differ from line %d:\nSQLite     %s\nPostgreSQL %s", i+1, a[i], b[i])
			}
		}
		t.Fatalf("the reports differ in length: %d and %d lines", len(a), len(b))
	}

	var doc struct {
		ImageChanges []struct {
			Digest string    `json:"digest"`
			At     time.Time `json:"at"`
		} `json:"imageChanges"`
	}
	if err := json.Unmarshal(onSQLite, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ImageChanges) != len(ops) {
		t.Fatalf("%d image changes, want %d", len(doc.ImageChanges), len(ops))
	}
	var digests []string
	sameMilli := 0
	for i, c := range doc.ImageChanges {
		digests = append(digests, c.Digest)
		if i == 0 {
			continue
		}
		prev := doc.ImageChanges[i-1].At
		if !c.At.After(prev) {
			t.Errorf("image change %d at %s comes after one at %s", i, c.At.Format(time.RFC3339Nano), prev.Format(time.RFC3339Nano))
		}
		if c.At.Truncate(time.Millisecond).Equal(prev.Truncate(time.Millisecond)) {
			sameMilli++
		}
	}
	if sameMilli == 0 || sort.StringsAreSorted(digests) {
		t.Fatalf("the test needs images stored in one millisecond, not in digest order (%d pairs in one millisecond)", sameMilli)
	}
}
