// Package catalogtest turns a catalog file back into the schema an older
// regimport wrote, so that tests can migrate real data forward.
package catalogtest

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/mattn/go-sqlite3" // the catalog's driver
)

// RewindTo0003 rewrites a closed catalog file at schema version 4 as
// regimport wrote it at version 3: one verdict per image (the column
// images.signature_verdict, which it keeps), signatures keyed by image
// alone (those of the image's dockerImageReference repository), and no
// per-repository verdicts or history.
func RewindTo0003(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=off")
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE signatures_0003 (
			image_name TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE, name TEXT NOT NULL, position INTEGER NOT NULL,
			source TEXT NOT NULL, type TEXT NOT NULL, content BLOB NOT NULL, sigstore_signature TEXT, certificate TEXT, chain TEXT,
			bundle TEXT, trusted TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', signer TEXT NOT NULL DEFAULT '', object TEXT NOT NULL,
			PRIMARY KEY (image_name, name)) WITHOUT ROWID`,
		`INSERT OR IGNORE INTO signatures_0003 SELECT s.image_name, s.name, s.position, s.source, s.type, s.content, s.sigstore_signature,
			s.certificate, s.chain, s.bundle, s.trusted, s.reason, s.signer, json_remove(s.object, '$.metadata.annotations')
			FROM signatures s JOIN repositories r ON r.id = s.repository_id JOIN images i ON i.name = s.image_name
			WHERE i.docker_image_reference = r.name || '@' || i.name`,
		`DROP TABLE signatures`,
		`ALTER TABLE signatures_0003 RENAME TO signatures`,
		`CREATE INDEX signatures_by_signer ON signatures (signer)`,
		`DROP TABLE verdict_history`,
		`DROP TABLE image_verdicts`,
		`DELETE FROM schema_migrations WHERE version >= 4`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rewind %s to 0003: %w", path, err)
		}
	}
	return nil
}
