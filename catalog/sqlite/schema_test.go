package sqlite

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/sqlstore"
)

var updateSchema = flag.Bool("update-schema", false, "write schema.sql from the migrations")

// replayed is the SQLite dialect without its schema script: a catalog
// opened through it is migrated from the first migration, as every
// catalog was before schema.sql.
type replayed struct{ Dialect }

func (replayed) NewSchema() (int, string) { return 0, "" }

// A new catalog created from schema.sql is the catalog the migrations
// build: the same tables, indexes and their SQL, the same migrations
// recorded, and no rows. After a new migration, run this test with
// -update-schema to write schema.sql again.
func TestNewSchemaIsWhatTheMigrationsLeave(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	migratedFile, createdFile := dir+"/migrated.db", dir+"/created.db"
	migrated, err := openAs(ctx, migratedFile, catalog.Options{}, replayed{})
	if err != nil {
		t.Fatal(err)
	}
	migrated.Close()
	latest := sqlstore.SchemaVersion(Dialect{})
	if *updateSchema {
		if err := os.WriteFile("schema.sql", []byte(schemaScript(t, migratedFile, latest)), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote schema.sql at version %d", latest)
		return
	}
	if version, _ := (Dialect{}).NewSchema(); version != latest {
		t.Fatalf("schema.sql is at version %d, the migrations at %d: run\n\tgo test ./catalog/sqlite -run %s -update-schema",
			version, latest, t.Name())
	}
	var logged strings.Builder
	created, err := Open(ctx, createdFile, catalog.Options{Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	if !strings.Contains(logged.String(), "catalog created") || strings.Contains(logged.String(), "catalog migrated") {
		t.Errorf("a new catalog was not created from schema.sql in one step; its log:\n%s", logged.String())
	}
	want, got := describe(t, migratedFile), describe(t, createdFile)
	if onlyGot, onlyWant := missingFrom(want, got), missingFrom(got, want); len(onlyGot)+len(onlyWant) > 0 {
		t.Errorf("a catalog created from schema.sql differs from one the migrations built: run\n\tgo test ./catalog/sqlite -run %s -update-schema\nonly in the created one:\n\t%s\nonly in the migrated one:\n\t%s",
			t.Name(), strings.Join(onlyGot, "\n\t"), strings.Join(onlyWant, "\n\t"))
	}
}

// missingFrom lists the entries of have that list lacks.
func missingFrom(list, have []string) []string {
	var out []string
	for _, e := range have {
		if !slices.Contains(list, e) {
			out = append(out, e)
		}
	}
	return out
}

// describe lists what makes a catalog file's schema: every entry of
// sqlite_schema with its SQL, the migrations it records, and each
// table's row count.
func describe(t *testing.T, file string) []string {
	t.Helper()
	db := rawOpen(t, file)
	var out []string
	var tables []string
	rows, err := db.Query(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_schema ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var kind, name, table, text string
		if err := rows.Scan(&kind, &name, &table, &text); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %s on %s: %s", kind, name, table, text))
		if kind == "table" {
			tables = append(tables, name)
		}
	}
	rows.Close()
	rows, err = db.Query(`SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var version int
		var name string
		if err := rows.Scan(&version, &name); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("migration %d %s", version, name))
	}
	rows.Close()
	for _, table := range tables {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM "` + table + `"`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if table != "schema_migrations" {
			out = append(out, fmt.Sprintf("rows in %s: %d", table, n))
		}
	}
	return out
}

// schemaScript is schema.sql's text: the SQL of every table and index a
// catalog at version holds, in the order SQLite created them, after a
// header that names the version.
func schemaScript(t *testing.T, file string, version int) string {
	t.Helper()
	db := rawOpen(t, file)
	rows, err := db.Query(`SELECT sql FROM sqlite_schema
		WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name <> 'schema_migrations' ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	fmt.Fprintf(&b, `-- The SQLite catalog's schema as its migrations leave it. A new catalog is
-- created from this file in one transaction (Dialect.NewSchema); an older
-- one is migrated. Generated from the migrations, not edited: after adding a
-- migration, run
--   go test ./catalog/sqlite -run TestNewSchemaIsWhatTheMigrationsLeave -update-schema
%s%d
`, schemaVersionLine, version)
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "\n%s;\n", text)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func rawOpen(t *testing.T, file string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(file, true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
