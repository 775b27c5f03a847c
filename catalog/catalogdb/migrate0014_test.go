package catalogdb_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/catalog/catalogtest"
	"github.com/regimport/regimport/internal/dbtest"
)

// blobTables are the tables migration 0014 rebuilds as rowid tables.
var blobTables = []string{"signatures", "attestations", "index_attestations"}

// withoutRowid reports which of blobTables the SQLite file declares
// WITHOUT ROWID.
func withoutRowid(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out []string
	for _, table := range blobTables {
		var ddl string
		if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&ddl); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
			out = append(out, table)
		}
	}
	return out
}

// Migration 0014 rebuilds signatures, attestations and index_attestations
// as rowid tables: every row of every table survives it, and none of the
// three is WITHOUT ROWID after it.
func TestMigration0014KeepsEveryRow(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	generated(t, path, 60)
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	// Attestations of both kinds, which the generator does not make.
	for _, q := range []string{
		`INSERT INTO attestations (image_name, position, referrer, predicate_type, signer, verified, reason, message, content)
			SELECT name, 0, 'sha256:' || substr(name, 8), 'https://slsa.dev/provenance/v1', 'SHA256:key', 1, 'Verified', '', x'7b7d'
			FROM images ORDER BY name LIMIT 3`,
		`INSERT INTO index_attestations (list_name, manifest, position, image_name, predicate_type, materials, content)
			SELECT name, 'sha256:' || substr(name, 8), 1, name, 'https://spdx.dev/Document', '["pkg:docker/base"]', x'7b7d'
			FROM images ORDER BY name DESC LIMIT 2`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	if err := catalogtest.RewindTo(ctx, path, 13); err != nil {
		t.Fatal(err)
	}
	if got := withoutRowid(t, path); len(got) != len(blobTables) {
		t.Fatalf("the file rewound to 0013 has %v WITHOUT ROWID, want all of %v", got, blobTables)
	}
	before := dbtest.Dump(t, path, skipMigratedAt)
	cat, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat.Close()
	after := dbtest.Dump(t, path, skipMigratedAt)
	if got := withoutRowid(t, path); len(got) != 0 {
		t.Errorf("after 0014, %v are still WITHOUT ROWID", got)
	}
	for _, table := range blobTables {
		if len(after[table]) == 0 {
			t.Errorf("%s is empty: the test has nothing to compare", table)
		}
	}
	if n := len(after["schema_migrations"]) - len(before["schema_migrations"]); n != 1 {
		t.Errorf("schema_migrations gained %d rows, want the one of 0014", n)
	}
	delete(before, "schema_migrations")
	delete(after, "schema_migrations")
	sameTables(t, "0013 -> 0014", before, after)
}
