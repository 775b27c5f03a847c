package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
)

type eventRow struct {
	tag, image, event, reason string
	run                       sql.NullInt64
}

// events reads the tag history of the catalog file under the API.
func events(t *testing.T, file string) []eventRow {
	t.Helper()
	db, err := sql.Open("sqlite3", dsn(file, true))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT tag, image_name, event, coalesce(reason, ''), run_id FROM tag_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []eventRow
	for rows.Next() {
		var e eventRow
		if err := rows.Scan(&e.tag, &e.image, &e.event, &e.reason, &e.run); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// A catalog written before 0005 keeps its tag history, and each old event
// is labelled: the first of a tag "added", the later ones "moved".
func TestMigrationLabelsExistingTagEvents(t *testing.T) {
	path := t.TempDir() + "/old.db"
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	files := Dialect{}.Migrations()
	entries, err := fs.ReadDir(files, ".") // NNNN_name.sql, in order
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	for _, e := range entries {
		num, _, _ := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			t.Fatal(e.Name(), err)
		}
		if version > 3 {
			break
		}
		body, err := fs.ReadFile(files, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			t.Fatal(e.Name(), err)
		}
		db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 'x')`, version, e.Name())
	}
	img := testimages.Image(1).Image
	for _, q := range []string{
		`INSERT INTO changes (resource, name, event, changed_at) VALUES ('images', 'x', 'ADDED', '2025-01-01T00:00:00Z')`,
		`INSERT INTO images (name, uid, resource_version, creation_timestamp, docker_image_reference, manifest_media_type, manifest, metadata, size)
			VALUES ('` + img.Name + `', 'u', 1, '2025-01-01T00:00:00Z', 'r@x', 'm', 'x', '{}', 1)`,
		`INSERT INTO repositories (id, name) VALUES (1, 'registry.example.com/app')`,
		`INSERT INTO tag_events (repository_id, tag, image_name, docker_image_reference, created) VALUES
			(1, 'v1', '` + img.Name + `', 'r@x', '2025-01-01T00:00:00Z'), (1, 'v1', '` + img.Name + `', 'r@x', '2025-01-02T00:00:00Z'),
			(1, 'v2', '` + img.Name + `', 'r@x', '2025-01-03T00:00:00Z')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	c, err := Open(context.Background(), path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for _, e := range events(t, path) {
		got = append(got, e.tag+"="+e.event)
	}
	if strings.Join(got, ",") != "v1=added,v1=moved,v2=added" {
		t.Errorf("migrated events %v", got)
	}
}
