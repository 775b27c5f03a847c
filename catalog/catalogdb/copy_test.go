package catalogdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	rt "github.com/regimport/regimport/report/reporttest"
)

// The copy's own conformance: SQLite -> PostgreSQL -> SQLite and
// PostgreSQL -> PostgreSQL keep every row, and numbers continue after the
// highest one given out. The command line's test (internal/cli) does the
// same with catalogs the real importer wrote.

// skipMigratedAt: the two catalogs were migrated at different times.
const skipMigratedAt = "schema_migrations.applied_at"

func generated(t testing.TB, db string, images int) {
	t.Helper()
	ctx := context.Background()
	clock := rt.NewClock(time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC))
	cat, err := catalogdb.Open(ctx, db, catalog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if _, err := rt.Generate(ctx, cat, clock, rt.Spec{Images: images, Runs: 3, Repositories: 5, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	// Removals too: a tag and a whole repository.
	if _, err := rt.Run(ctx, cat, "regimport import --all-tags registry.example.com/team-1/app-1", []any{
		catalog.TagRemoval{Repository: "registry.example.com/team-1/app-1", Tags: []string{"latest"}, Reason: "absent from a complete tag list"},
		rt.RepositoryRemoval("registry.example.com/team-2/app-2"),
	}); err != nil {
		t.Fatal(err)
	}
}

// copyCatalog runs Copy as the command does: the source read-only, the
// destination opened (and so migrated) for writing under its run lock.
func copyCatalog(t testing.TB, from, to string) (catalog.CopyStats, error) {
	t.Helper()
	ctx := context.Background()
	src, err := catalogdb.Open(ctx, from, catalog.Options{ReadOnly: true})
	if err != nil {
		return catalog.CopyStats{}, err
	}
	defer src.Close()
	lock, err := catalogdb.LockRuns(to, "test copy", catalog.Shard{})
	if err != nil {
		return catalog.CopyStats{}, err
	}
	defer lock.Unlock()
	dst, err := catalogdb.Open(ctx, to, catalog.Options{})
	if err != nil {
		return catalog.CopyStats{}, err
	}
	defer dst.Close()
	return catalogdb.Copy(ctx, src, dst)
}

func mustCopy(t testing.TB, from, to string) catalog.CopyStats {
	t.Helper()
	stats, err := copyCatalog(t, from, to)
	if err != nil {
		t.Fatalf("copy %s -> %s: %v", catalog.RedactDB(from), catalog.RedactDB(to), err)
	}
	return stats
}

func sameTables(t *testing.T, what string, a, b dbtest.Tables) {
	t.Helper()
	if d := dbtest.Diff(a, b, 5); len(d) > 0 {
		t.Errorf("%s: the catalogs differ:\n%s", what, strings.Join(d, "\n"))
	}
}

func TestCopyRoundTripKeepsEveryRow(t *testing.T) {
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")
	pg := dbtest.NewPostgres(t)
	generated(t, first, 120)
	// The source's AUTOINCREMENT has given out numbers no row keeps any
	// more: the copies must not give them out again.
	raw, err := sql.Open("sqlite3", first)
	if err != nil {
		t.Fatal(err)
	}
	var maxRV int64
	if err := raw.QueryRow(`SELECT max(resource_version) FROM changes`).Scan(&maxRV); err != nil {
		t.Fatal(err)
	}
	issued := maxRV + 50
	if _, err := raw.Exec(`UPDATE sqlite_sequence SET seq = ? WHERE name = 'changes'`, issued); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	stats := mustCopy(t, first, pg)
	counts := map[string]int64{}
	for _, tc := range stats.Tables {
		counts[tc.Table] = tc.Rows
	}
	if counts["images"] != 120 || counts["changes"] == 0 || counts["import_failures"] != 6 || counts["signatures"] == 0 || stats.Rows == 0 {
		t.Errorf("copy counts %+v", stats)
	}
	if _, ok := counts["schema_migrations"]; ok {
		t.Errorf("schema_migrations was copied: %+v", stats)
	}
	var analyzed bool
	if err := sqlOpenPostgres(t, pg).QueryRow(`SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'images'`).Scan(&analyzed); err != nil || !analyzed {
		t.Errorf("the copy to PostgreSQL left images without statistics (analyzed %v, %v)", analyzed, err)
	}
	mustCopy(t, pg, last)
	firstRows := dbtest.Dump(t, first, skipMigratedAt)
	if len(firstRows["images"]) != 120 || len(firstRows["import_failures"]) != 6 || !strings.HasPrefix(firstRows["import_failures"][0], "id=") ||
		len(firstRows["sqlite_sequence"]) != 1 {
		t.Fatalf("the dump of the source misses rows: %d images, failures %v, sqlite_sequence %v",
			len(firstRows["images"]), firstRows["import_failures"], firstRows["sqlite_sequence"])
	}
	sameTables(t, "SQLite -> PostgreSQL -> SQLite", firstRows, dbtest.Dump(t, last, skipMigratedAt))

	// PostgreSQL -> PostgreSQL.
	pg2 := dbtest.NewPostgres(t)
	mustCopy(t, pg, pg2)
	pgRows := dbtest.Dump(t, pg, skipMigratedAt)
	if want := fmt.Sprintf("sequencename=changes_resource_version_seq, last_value=%d", issued); !strings.Contains(strings.Join(pgRows["pg_sequences"], "\n"), want) {
		t.Errorf("PostgreSQL's sequences after the copy: %v, want %q", pgRows["pg_sequences"], want)
	}
	sameTables(t, "PostgreSQL -> PostgreSQL", pgRows, dbtest.Dump(t, pg2, skipMigratedAt))

	// New rows continue after every number the source gave out, on
	// every copy; import_failures' ids continue too.
	for _, db := range []string{pg, last, pg2} {
		ctx := context.Background()
		cat, err := catalogdb.Open(ctx, db, catalog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		im := rt.Image{Seed: "after-copy", Repository: "registry.example.com/team-0/app-0"}
		if _, err := rt.Run(ctx, cat, "regimport import after the copy", []any{im.Record()},
			catalog.Failure{Reference: "registry.example.com/x:after", Reason: "after the copy"}); err != nil {
			t.Fatalf("%s: import after the copy: %v", catalog.RedactDB(db), err)
		}
		rv, err := cat.ResourceVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rv <= issued {
			t.Errorf("%s: resourceVersion %d after the copy, want more than %d, the source's highest", catalog.RedactDB(db), rv, issued)
		}
		cat.Close()
	}
}

// The comparison of the round trip can fail: one byte changed in one
// manifest of the copy is reported, with its table.
func TestDumpComparisonSeesOneChangedByte(t *testing.T) {
	dir := t.TempDir()
	first, copied := filepath.Join(dir, "first.db"), filepath.Join(dir, "copy.db")
	generated(t, first, 12)
	// A gap in the hidden rowids, which order import_failures: SQLite to
	// SQLite keeps them as they are.
	gap, err := sql.Open("sqlite3", first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gap.Exec(`DELETE FROM import_failures WHERE rowid = 2`); err != nil {
		t.Fatal(err)
	}
	gap.Close()
	mustCopy(t, first, copied)
	a := dbtest.Dump(t, first, skipMigratedAt)
	sameTables(t, "SQLite -> SQLite", a, dbtest.Dump(t, copied, skipMigratedAt))

	raw, err := sql.Open("sqlite3", copied)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.Exec(`UPDATE images SET manifest = CAST(replace(CAST(manifest AS TEXT), 'img-3"', 'img-X"') AS BLOB) WHERE manifest LIKE '%"img-3"%'`)
	if n, _ := res.RowsAffected(); err != nil || n != 1 {
		t.Fatalf("mutate one manifest: %d rows, %v", n, err)
	}
	d := dbtest.Diff(a, dbtest.Dump(t, copied, skipMigratedAt), 5)
	if len(d) != 2 || !strings.HasPrefix(d[0], "table images: row only in") || !strings.Contains(strings.Join(d, ""), "696D672D58") {
		t.Errorf("one changed byte: the comparison says\n%s", strings.Join(d, "\n"))
	}
}

func TestCopyRefusesANonEmptyDestination(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	generated(t, src, 6)
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "dst.db")
			if backend == "postgres" {
				dst = dbtest.NewPostgres(t)
			}
			ctx := context.Background()
			cat, err := catalogdb.Open(ctx, dst, catalog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := rt.Run(ctx, cat, "regimport import something else", nil, catalog.Failure{Reference: "r.example.com/a:1", Reason: "x"}); err != nil {
				t.Fatal(err)
			}
			cat.Close()
			before := dbtest.Dump(t, dst)
			if err := catalogdb.CheckEmpty(ctx, dst); !errors.Is(err, catalog.ErrNotEmpty) ||
				!strings.Contains(err.Error(), "import_failures, import_runs") {
				t.Errorf("CheckEmpty: %v, want ErrNotEmpty naming the tables", err)
			}
			// Copy itself checks again, inside its transaction.
			if _, err := copyCatalog(t, src, dst); !errors.Is(err, catalog.ErrNotEmpty) {
				t.Errorf("copy into a catalog with one run: %v, want ErrNotEmpty", err)
			}
			sameTables(t, "the refused destination", before, dbtest.Dump(t, dst))
		})
	}
	// A file or database that does not exist yet, or is empty, is empty.
	if err := catalogdb.CheckEmpty(context.Background(), filepath.Join(dir, "new.db")); err != nil {
		t.Errorf("CheckEmpty of a new file: %v", err)
	}
	if err := catalogdb.CheckEmpty(context.Background(), dbtest.NewPostgres(t)); err != nil {
		t.Errorf("CheckEmpty of a new database: %v", err)
	}
}

// A failure midway leaves the destination as it was: the copy is one
// transaction. Here the destination refuses one row (a trigger raises on
// the last image), after other tables were already copied.
func TestCopyFailingMidwayLeavesTheDestinationEmpty(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src.db"), filepath.Join(dir, "dst.db")
	generated(t, src, 12)
	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, dst, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	raw, err := sql.Open("sqlite3", dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON image_layers WHEN NEW.position = 4
		BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	before := dbtest.Dump(t, dst)
	if _, err := copyCatalog(t, src, dst); err == nil || !strings.Contains(err.Error(), "refused by the test") ||
		!strings.Contains(err.Error(), "image_layers") {
		t.Fatalf("copy into a destination that refuses a row: %v", err)
	}
	sameTables(t, "after a failed copy", before, dbtest.Dump(t, dst))
	if err := catalogdb.CheckEmpty(ctx, dst); err != nil {
		t.Errorf("after a failed copy: %v", err)
	}
}

// BenchmarkCopy times a copy of a generated catalog both ways between
// SQLite and PostgreSQL: REGIMPORT_COPY_IMAGES images (default 10,000).
// Each iteration copies into a new destination.
func BenchmarkCopy(b *testing.B) {
	images := 10000
	if v := os.Getenv("REGIMPORT_COPY_IMAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		images = n
	}
	file := filepath.Join(b.TempDir(), "src.db")
	start := time.Now()
	generated(b, file, images)
	b.Logf("generated %d images in %s", images, time.Since(start).Round(time.Millisecond))
	pg := dbtest.NewPostgres(b)
	stats := mustCopy(b, file, pg)
	for _, dir := range []struct{ name, from string }{{"SQLite to PostgreSQL", file}, {"PostgreSQL to SQLite", pg}} {
		b.Run(dir.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				to := filepath.Join(b.TempDir(), fmt.Sprint("copy", i, ".db"))
				if dir.from == file {
					to = dbtest.NewPostgres(b)
				}
				start := time.Now()
				s := mustCopy(b, dir.from, to)
				b.ReportMetric(float64(s.Rows)/time.Since(start).Seconds(), "rows/s")
			}
			b.ReportMetric(float64(stats.Rows), "rows")
		})
	}
}

// sqlOpenPostgres is a plain connection to a test database, closed with the test.
func sqlOpenPostgres(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
