package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
)

// pageSizeOf reads a catalog file's page size under the API.
func pageSizeOf(t *testing.T, file string) int {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(file, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	return size
}

// A new catalog, and an empty file given as one, get pageSize; a catalog
// made with SQLite's default keeps its pages, and the writer still works in
// it. Either way the file is in WAL mode.
func TestNewCatalogsGetTheirPageSizeExistingOnesKeepTheirs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite3", "file:"+old+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 0`); err != nil { // the WAL switch writes the file's header
		t.Fatal(err)
	}
	db.Close()
	for _, tc := range []struct {
		file string
		want int
	}{
		{filepath.Join(dir, "new.db"), pageSize},
		{empty, pageSize},
		{old, 4096},
	} {
		c, err := open(ctx, tc.file, catalog.Options{})
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		testimages.Put(t, c, testimages.Image(1), testimages.Image(2))
		var mode string
		if err := c.WritePool().QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		if got := pageSizeOf(t, tc.file); got != tc.want || mode != "wal" {
			t.Errorf("%s: page size %d in journal mode %s, want %d in wal", filepath.Base(tc.file), got, mode, tc.want)
		}
	}
}
