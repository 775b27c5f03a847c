package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/report"
	rt "github.com/regimport/regimport/report/reporttest"
)

// reportCatalog writes a small catalog (two runs, a tag that moves) through
// the real writer and closes it, as an import leaves it.
func reportCatalog(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := dbtest.New(t)
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	const repo = "registry.example.com/team/app"
	key := rt.Sig{Trusted: true, KeyID: "0F8A7B1C2D3E4F5A", CN: "Release Engineering"}
	one := rt.Image{Seed: "one", Repository: repo, Created: time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC),
		Layers: []rt.Layer{{Seed: "base", Size: 1 << 20}}, Verdict: "accepted", Sigs: []rt.Sig{key}}
	two := rt.Image{Seed: "two", Repository: repo, Created: time.Date(2025, 5, 20, 0, 0, 0, 0, time.UTC),
		Layers: []rt.Layer{{Seed: "base", Size: 1 << 20}, {Seed: "two", Size: 2 << 20}}, Verdict: "rejected", Reason: "UnknownKey", Sigs: []rt.Sig{{Reason: "UnknownKey"}}}
	if _, err := rt.Run(ctx, cat, "regimport import "+repo+":1", []any{one.Record(), rt.Tag(repo, "1", one.Digest()), rt.Tag(repo, "latest", one.Digest())}); err != nil {
		t.Fatal(err)
	}
	clock.Skip(time.Hour)
	if _, err := rt.Run(ctx, cat, "regimport import "+repo+":2", []any{two.Record(), rt.Tag(repo, "2", two.Digest()), rt.Tag(repo, "latest", two.Digest())}); err != nil {
		t.Fatal(err)
	}
	return path
}

func runReportCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"report"}, args...), Streams{Out: &out, Err: &errb})
	return code, out.String(), errb.String()
}

// fileSum is a digest of the catalog: the file's bytes, or every row of a
// PostgreSQL catalog.
func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	if catalog.IsPostgres(path) {
		var all []string
		for table, rows := range dbtest.Dump(t, path) {
			all = append(all, table+":"+strings.Join(rows, "\n"))
		}
		sort.Strings(all)
		return sha256.Sum256([]byte(strings.Join(all, "\n")))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestReportCommandWritesEachFormat(t *testing.T) {
	db := reportCatalog(t)
	before := fileSum(t, db)
	dir := t.TempDir()

	code, out, errs := runReportCmd(t, "--db", db, "--format", "json")
	if code != ExitOK {
		t.Fatalf("json: exit %d: %s", code, errs)
	}
	var d report.Document
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("json does not decode: %v", err)
	}
	if d.Summary.Images != 2 || d.Summary.Signatures.Rejected != 1 || len(d.Inventory) != 3 || d.Summary.Changes.TagsMoved != 1 || d.Summary.Changes.TagsAdded != 1 {
		t.Errorf("json facts: %+v, %d rows", d.Summary, len(d.Inventory))
	}

	// -o picks the format from its extension; the file appears whole.
	csvFile := filepath.Join(dir, "inventory.csv")
	if code, _, errs := runReportCmd(t, "--db", db, "-o", csvFile); code != ExitOK {
		t.Fatalf("csv: exit %d: %s", code, errs)
	}
	f, _ := os.Open(csvFile)
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != 4 || recs[0][0] != "repository" {
		t.Errorf("csv file: %v %q", err, recs)
	}
	htmlFile := filepath.Join(dir, "report.html")
	if code, _, errs := runReportCmd(t, "report", "--db", db, "-o", htmlFile); code != ExitUsage || !strings.Contains(errs, `unexpected argument "report"`) {
		t.Errorf("stray argument: exit %d: %s", code, errs)
	}
	if code, _, errs := runReportCmd(t, "--db", db, "-o", htmlFile, "--repository", "registry.example.com/*"); code != ExitOK {
		t.Fatalf("html: exit %d: %s", code, errs)
	}
	page, _ := os.ReadFile(htmlFile)
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") || !strings.Contains(string(page), `id="n-images">2<`) {
		t.Errorf("html file: %.300s", page)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
	code, out, _ = runReportCmd(t, "--db", db, "--format", "md", "--since", "1")
	if code != ExitOK || !strings.Contains(out, "## Inventory") || !strings.Contains(out, "1 tags added, 1 moved") {
		t.Errorf("md: exit %d:\n%s", code, out)
	}
	if fileSum(t, db) != before {
		t.Error("the report changed the catalog file")
	}
}

func TestReportCommandOnACopiedCatalog(t *testing.T) {
	dbtest.SQLiteOnly(t, "it copies the catalog file alone to another directory")
	db := reportCatalog(t)
	// Another machine gets the file alone: no -wal, no -shm, another directory.
	copyPath := filepath.Join(t.TempDir(), "audit-copy.db")
	b, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyPath, b, 0o444); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runReportCmd(t, "--db", copyPath, "--format", "csv", "--table", "summary")
	if code != ExitOK || !strings.Contains(out, "images,2") || !strings.Contains(out, "catalog.file,audit-copy.db") {
		t.Errorf("copied catalog: exit %d: %s\n%s", code, errs, out)
	}
	if after, _ := os.ReadFile(copyPath); !bytes.Equal(after, b) {
		t.Error("the copy changed")
	}
}

func TestReportCommandBadInput(t *testing.T) {
	dir := t.TempDir()

	empty := dbtest.New(t)
	cat, err := catalogdb.Open(context.Background(), empty, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	if code, out, errs := runReportCmd(t, "--db", empty, "--format", "md"); code != ExitOK || !strings.Contains(out, "The catalog holds no images") {
		t.Errorf("empty catalog: exit %d: %s\n%s", code, errs, out)
	}

	if !dbtest.Postgres() { // files that are not catalogs, and an older file
		badFiles(t, dir)
	}

	db := reportCatalog(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--since", "someday"}, "--since"},
		{[]string{"--since", "99"}, "no run 99"},
		{[]string{"--format", "pdf"}, "format"},
		{[]string{"--format", "html", "--table", "signers"}, "--table"},
		{[]string{"-o", db}, "overwrite the catalog"},
		{[]string{"--log-level", "loud"}, "--log-level"},
	} {
		before := fileSum(t, db)
		code, _, errs := runReportCmd(t, append([]string{"--db", db}, tc.args...)...)
		if code != ExitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errs)
		}
		if fileSum(t, db) != before {
			t.Errorf("%v changed the catalog", tc.args)
		}
	}
}

// badFiles: a text file, a missing file and a file of an older schema are
// refused, and nothing is written.
func badFiles(t *testing.T, dir string) {
	t.Helper()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("This is a text file, long enough to be sure it is not a SQLite database header.\n"), 0o644)
	if code, _, errs := runReportCmd(t, "--db", text); code != ExitFatal || !strings.Contains(errs, "not a regimport catalog") {
		t.Errorf("text file: exit %d: %s", code, errs)
	}
	if code, _, errs := runReportCmd(t, "--db", filepath.Join(dir, "missing.db")); code != ExitFatal || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: exit %d: %s", code, errs)
	}

	// An older schema: the catalog's last migration row deleted in a copy.
	old := filepath.Join(dir, "old.db")
	b, _ := os.ReadFile(reportCatalog(t))
	os.WriteFile(old, b, 0o644)
	raw, err := sql.Open("sqlite3", "file:"+old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before := fileSum(t, old)
	code, _, errs := runReportCmd(t, "--db", old, "-o", filepath.Join(dir, "old.html"))
	if code != ExitFatal || !strings.Contains(errs, "older than this regimport") || !strings.Contains(errs, "for writing") || !strings.Contains(errs, "regimport") {
		t.Errorf("older schema: exit %d: %s", code, errs)
	}
	if fileSum(t, old) != before {
		t.Error("the older catalog was modified")
	}
	if _, err := os.Stat(filepath.Join(dir, "old.html")); !os.IsNotExist(err) {
		t.Error("a report file was written for a catalog that was refused")
	}

}
