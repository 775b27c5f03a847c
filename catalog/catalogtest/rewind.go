// Package catalogtest is the catalog's conformance suite (Run: every
// behaviour, against the backend a test gives it) and test helpers: it
// turns a catalog file back into the schema an older regimport wrote, so
// that tests can migrate real data forward.
package catalogtest

import (
	"context"
	"database/sql"
	"fmt"

	_ "github.com/mattn/go-sqlite3" // the catalog's driver
)

// undo holds, per migration after 0003, the statements that take a catalog
// back to the schema before it. RewindTo0003 applies the ones a file has,
// newest first, so a migration test keeps starting from a true 0003 file
// as migrations are added.
var undo = map[int][]string{
	// 14 made them rowid tables.
	14: {
		`CREATE TABLE signatures_0013 (image_name TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
			repository_id INTEGER NOT NULL REFERENCES repositories (id), name TEXT NOT NULL, position INTEGER NOT NULL,
			source TEXT NOT NULL, type TEXT NOT NULL, content BLOB NOT NULL, sigstore_signature TEXT, certificate TEXT, chain TEXT,
			bundle TEXT, trusted TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', signer TEXT NOT NULL DEFAULT '', object TEXT NOT NULL,
			key_fingerprint TEXT NOT NULL DEFAULT '', certificate_subject TEXT NOT NULL DEFAULT '', certificate_issuer TEXT NOT NULL DEFAULT '',
			oidc_issuer TEXT NOT NULL DEFAULT '', certificate_not_before TEXT, certificate_not_after TEXT, signing_time TEXT,
			time_source TEXT NOT NULL DEFAULT '', time_verified INTEGER NOT NULL DEFAULT 0, signature_expiry TEXT,
			tlog_present INTEGER NOT NULL DEFAULT 0, tlog_verified INTEGER NOT NULL DEFAULT 0, timestamp_present INTEGER NOT NULL DEFAULT 0,
			timestamp_verified INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (image_name, repository_id, name)) WITHOUT ROWID`,
		`INSERT INTO signatures_0013 SELECT * FROM signatures`,
		`DROP TABLE signatures`,
		`ALTER TABLE signatures_0013 RENAME TO signatures`,
		`CREATE INDEX signatures_by_signer ON signatures (signer)`,
		`CREATE INDEX signatures_by_repository ON signatures (repository_id, image_name)`,
		`CREATE INDEX signatures_by_key ON signatures (key_fingerprint)`,
		`CREATE TABLE attestations_0013 (image_name TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
			position INTEGER NOT NULL, referrer TEXT NOT NULL, predicate_type TEXT NOT NULL DEFAULT '', signer TEXT NOT NULL DEFAULT '',
			verified INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '', content BLOB,
			PRIMARY KEY (image_name, position)) WITHOUT ROWID`,
		`INSERT INTO attestations_0013 SELECT * FROM attestations`,
		`DROP TABLE attestations`,
		`ALTER TABLE attestations_0013 RENAME TO attestations`,
		`CREATE INDEX attestations_by_predicate ON attestations (predicate_type)`,
		`CREATE TABLE index_attestations_0013 (list_name TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
			manifest TEXT NOT NULL, position INTEGER NOT NULL, image_name TEXT NOT NULL, in_index INTEGER NOT NULL DEFAULT 1,
			predicate_type TEXT NOT NULL DEFAULT '', builder_id TEXT NOT NULL DEFAULT '', materials TEXT NOT NULL DEFAULT '[]',
			readable INTEGER NOT NULL DEFAULT 1, reason TEXT NOT NULL DEFAULT '', content BLOB,
			PRIMARY KEY (list_name, manifest, position)) WITHOUT ROWID`,
		`INSERT INTO index_attestations_0013 SELECT * FROM index_attestations`,
		`DROP TABLE index_attestations`,
		`ALTER TABLE index_attestations_0013 RENAME TO index_attestations`,
		`CREATE INDEX index_attestations_by_image ON index_attestations (image_name)`,
	},
	13: {`DROP INDEX IF EXISTS signatures_by_key`, `ALTER TABLE signatures DROP COLUMN key_fingerprint`,
		`ALTER TABLE signatures DROP COLUMN certificate_subject`, `ALTER TABLE signatures DROP COLUMN certificate_issuer`,
		`ALTER TABLE signatures DROP COLUMN oidc_issuer`, `ALTER TABLE signatures DROP COLUMN certificate_not_before`,
		`ALTER TABLE signatures DROP COLUMN certificate_not_after`, `ALTER TABLE signatures DROP COLUMN signing_time`,
		`ALTER TABLE signatures DROP COLUMN time_source`, `ALTER TABLE signatures DROP COLUMN time_verified`,
		`ALTER TABLE signatures DROP COLUMN signature_expiry`, `ALTER TABLE signatures DROP COLUMN tlog_present`,
		`ALTER TABLE signatures DROP COLUMN tlog_verified`, `ALTER TABLE signatures DROP COLUMN timestamp_present`,
		`ALTER TABLE signatures DROP COLUMN timestamp_verified`},
	12: {`DROP TABLE IF EXISTS image_artifacts`, `DROP TABLE IF EXISTS index_attestations`},
	11: {
		`CREATE TABLE import_runs_0010 (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
			status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
			command TEXT NOT NULL, imported INTEGER NOT NULL DEFAULT 0, unchanged INTEGER NOT NULL DEFAULT 0,
			failed INTEGER NOT NULL DEFAULT 0, shard_index INTEGER, shard_count INTEGER, run_group TEXT)`,
		`INSERT INTO import_runs_0010 SELECT id, started_at, finished_at, status, command, imported, unchanged, failed,
			shard_index, shard_count, run_group FROM import_runs`,
		`DROP TABLE import_runs`,
		`ALTER TABLE import_runs_0010 RENAME TO import_runs`,
	},
	10: {`DROP TABLE IF EXISTS mirrored_tags`, `DROP TABLE IF EXISTS mirror_runs`},
	9: {
		`CREATE TABLE import_failures_0008 (run_id INTEGER NOT NULL REFERENCES import_runs (id), reference TEXT NOT NULL,
			reason TEXT NOT NULL, failed_at TEXT NOT NULL)`,
		`INSERT INTO import_failures_0008 (rowid, run_id, reference, reason, failed_at)
			SELECT id, run_id, reference, reason, failed_at FROM import_failures`,
		`DROP TABLE import_failures`,
		`ALTER TABLE import_failures_0008 RENAME TO import_failures`,
		`CREATE INDEX import_failures_by_run ON import_failures (run_id)`,
	},
	8: {
		`ALTER TABLE import_runs DROP COLUMN run_group`,
		`ALTER TABLE import_runs DROP COLUMN shard_count`,
		`ALTER TABLE import_runs DROP COLUMN shard_index`,
	},
	7: {`ALTER TABLE images DROP COLUMN source_reference`},
	6: {`DROP TABLE IF EXISTS referrer_lookups`, `DROP TABLE IF EXISTS attestations`},
	5: {
		`CREATE TABLE tag_events_0003 (
			id INTEGER PRIMARY KEY, repository_id INTEGER NOT NULL REFERENCES repositories (id), tag TEXT NOT NULL,
			image_name TEXT NOT NULL REFERENCES images (name), docker_image_reference TEXT NOT NULL, created TEXT NOT NULL,
			run_id INTEGER REFERENCES import_runs (id))`,
		`INSERT INTO tag_events_0003 SELECT id, repository_id, tag, image_name, docker_image_reference, created, run_id
			FROM tag_events WHERE event <> 'removed'`,
		`DROP TABLE tag_events`,
		`ALTER TABLE tag_events_0003 RENAME TO tag_events`,
		`CREATE INDEX tag_events_by_tag ON tag_events (repository_id, tag, id)`,
		`ALTER TABLE repositories DROP COLUMN removed_run`,
		`ALTER TABLE repositories DROP COLUMN removed_at`,
	},
	4: {
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
	},
}

// RewindTo0003 rewrites a closed catalog file at a newer schema version as
// regimport wrote it at version 3: one verdict per image (the column
// images.signature_verdict, which it keeps), signatures keyed by image
// alone (those of the image's dockerImageReference repository), no
// per-repository verdicts or history, no removal events, attestations,
// source spellings, shards of runs or failure ids.
func RewindTo0003(ctx context.Context, path string) error { return RewindTo(ctx, path, 3) }

// RewindTo rewrites a closed catalog file at a newer schema version as
// regimport wrote it at version target (3 or later).
func RewindTo(ctx context.Context, path string, target int) error {
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=off")
	if err != nil {
		return err
	}
	defer db.Close()
	var version int
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil {
		return fmt.Errorf("rewind %s: schema version: %w", path, err)
	}
	for v := version; v > max(target, 3); v-- {
		steps, ok := undo[v]
		if !ok {
			return fmt.Errorf("rewind %s to %04d: no undo steps for migration %04d; add them to catalogtest", path, target, v)
		}
		for _, q := range append(steps, fmt.Sprintf(`DELETE FROM schema_migrations WHERE version = %d`, v)) {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("rewind %s from %04d: %w", path, v, err)
			}
		}
	}
	return nil
}
