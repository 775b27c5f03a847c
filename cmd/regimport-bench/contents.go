package main

import (
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// catalogContents is what an import stored, as the shard benchmark
// compares it: every image by name and every tag as "repository:tag" with
// the image it points to.
type catalogContents struct {
	images map[string]bool
	tags   map[string]string
}

// openDB opens a catalog read-only for counting: a PostgreSQL URL or a
// SQLite file.
func openDB(db string) (*sql.DB, error) {
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		return sql.Open("pgx", db)
	}
	return sql.Open("sqlite3", "file:"+db+"?mode=ro")
}

// readContents reads every image name and tag of a catalog.
func readContents(db string) (catalogContents, error) {
	conn, err := openDB(db)
	if err != nil {
		return catalogContents{}, err
	}
	defer conn.Close()
	c := catalogContents{images: map[string]bool{}, tags: map[string]string{}}
	rows, err := conn.Query(`SELECT name FROM images`)
	if err != nil {
		return c, fmt.Errorf("read the images of %s: %w", redactURL(db), err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return c, err
		}
		c.images[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, err
	}
	rows, err = conn.Query(`SELECT r.name, t.tag, t.image_name FROM tags t JOIN repositories r ON r.id = t.repository_id`)
	if err != nil {
		return c, fmt.Errorf("read the tags of %s: %w", redactURL(db), err)
	}
	defer rows.Close()
	for rows.Next() {
		var repo, tag, image string
		if err := rows.Scan(&repo, &tag, &image); err != nil {
			return c, err
		}
		c.tags[repo+":"+tag] = image
	}
	return c, rows.Err()
}

// sameContents fails unless got holds exactly want's images and tags, each
// tag pointing at the same image; the error names up to three differences
// of each kind.
func sameContents(want, got catalogContents) error {
	var missing, extra, moved []string
	for name := range want.images {
		if !got.images[name] {
			missing = append(missing, "image "+name)
		}
	}
	for name := range got.images {
		if !want.images[name] {
			extra = append(extra, "image "+name)
		}
	}
	for tag, image := range want.tags {
		g, ok := got.tags[tag]
		switch {
		case !ok:
			missing = append(missing, "tag "+tag)
		case g != image:
			moved = append(moved, fmt.Sprintf("tag %s points at %s, not %s", tag, g, image))
		}
	}
	for tag := range got.tags {
		if _, ok := want.tags[tag]; !ok {
			extra = append(extra, "tag "+tag)
		}
	}
	if len(missing)+len(extra)+len(moved) == 0 {
		return nil
	}
	var parts []string
	for _, d := range []struct {
		what string
		list []string
	}{{"missing", missing}, {"extra", extra}, {"different", moved}} {
		if len(d.list) == 0 {
			continue
		}
		sort.Strings(d.list)
		shown := d.list[:min(3, len(d.list))]
		parts = append(parts, fmt.Sprintf("%d %s (%s)", len(d.list), d.what, strings.Join(shown, "; ")))
	}
	return fmt.Errorf("the catalogs differ: %s", strings.Join(parts, ", "))
}
