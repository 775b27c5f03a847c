package catalog

import (
	"context"
	"database/sql"
	"strings"
	"testing"
)

type eventRow struct {
	tag, image, event, reason string
	run                       sql.NullInt64
}

func events(t *testing.T, c *Catalog) []eventRow {
	t.Helper()
	rows, err := c.read.Query(`SELECT tag, image_name, event, coalesce(reason, ''), run_id FROM tag_events ORDER BY id`)
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
	ms, err := migrations(false)
	if err != nil {
		t.Fatal(err)
	}
	db.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
	for _, m := range ms {
		if m.version > 3 {
			break
		}
		if _, err := db.Exec(m.sql); err != nil {
			t.Fatal(m.name, err)
		}
		db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, 'x')`, m.version, m.name)
	}
	img := testImage(1).Image
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
	c, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var got []string
	for _, e := range events(t, c) {
		got = append(got, e.tag+"="+e.event)
	}
	if strings.Join(got, ",") != "v1=added,v1=moved,v2=added" {
		t.Errorf("migrated events %v", got)
	}
}
