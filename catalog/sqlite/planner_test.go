package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
	"github.com/regimport/regimport/catalog/sqlite/internal/stmtstatus"
)

// Once a catalog is open, the process's SQLite connections plan a
// statement once whatever is bound to it. Without the planner stability
// guarantee SQLite prepares these joins again at every new binding
// (go-sqlite3's SQLite 3.54): that parse was most of a pull verdict
// lookup's time.
func TestStatementsArePlannedOnce(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "c.db")
	c, err := open(ctx, file, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var recs []any
	var byRepository, pages [][]string
	for i := range 20 {
		img := testimages.Image(i)
		recs = append(recs, img)
		byRepository = append(byRepository, []string{img.Image.Name, "example.com/team/app"})
		pages = append(pages, []string{img.Image.Name, strconv.Itoa(i + 1)})
	}
	testimages.Put(t, c, recs...)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query string
		args        [][]string
	}{
		{"the pull verdict of an image in a repository", `SELECT coalesce(v.verdict, ''), EXISTS (SELECT 1 FROM image_artifacts WHERE image_name = ?1)
			FROM repositories r LEFT JOIN image_verdicts v ON v.repository_id = r.id AND v.image_name = ?1 WHERE r.name = ?2`, byRepository},
		{"a list's entries with their verdicts", `SELECT m.digest, coalesce(iv.verdict, '') FROM image_manifests m
			JOIN repositories r ON r.name = ?2 LEFT JOIN image_verdicts iv ON iv.image_name = m.digest AND iv.repository_id = r.id
			WHERE m.list_name = ?1 ORDER BY m.position`, byRepository},
		{"a page of images after a name", `SELECT name FROM images WHERE name > ?1 ORDER BY name LIMIT ?2`, pages},
	} {
		n, err := stmtstatus.Reprepares(file, tc.query, tc.args)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n != 0 {
			t.Errorf("%s: prepared again %d times over %d bindings, want 0", tc.name, n, len(tc.args))
		}
	}
}
