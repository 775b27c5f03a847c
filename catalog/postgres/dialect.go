package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/regimport/regimport/catalog"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Dialect is PostgreSQL's SQL for the catalog's shared code
// (sqlstore.Dialect): native timestamptz and jsonb, and the advisory
// locks and notifications that let several processes share a database.
type Dialect struct{}

// Name is catalog.DialectPostgres.
func (Dialect) Name() catalog.Dialect { return catalog.DialectPostgres }

func (Dialect) HasDigest(ref string) string    { return "strpos(" + ref + ", '@') > 0" }
func (Dialect) RepositoryOf(ref string) string { return "split_part(" + ref + ", '@', 1)" }
func (Dialect) Contains(col, expr string) string {
	return "strpos(" + col + ", " + expr + ") > 0"
}

// TimeValue: timestamptz compares natively, with indexes.
func (Dialect) TimeValue(col string) string { return col }
func (Dialect) EpochMillis(col string) string {
	return "(extract(epoch FROM " + col + ") * 1000)"
}
func (Dialect) JSONText(col string, keys ...string) string {
	return col + " #>> '{" + strings.Join(keys, ",") + "}'"
}
func (Dialect) DistinctList(col string) string { return "string_agg(DISTINCT " + col + ", ',')" }
func (Dialect) TimeText(v string) string       { return v }
func (Dialect) TimeParam(p string) string      { return "CAST(" + p + " AS timestamptz)" }
func (Dialect) TimeOrder(col string) string    { return col }

// Migrations start at the version SQLite had reached when PostgreSQL was
// added; from there on each migration has a file per dialect with the same number.
func (Dialect) Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory is there at build time
	}
	return sub
}

// NewSchema: none; a new PostgreSQL catalog is migrated from its first
// version, 7.
func (Dialect) NewSchema() (int, string) { return 0, "" }

func (Dialect) CountTables() string {
	return `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`
}

// LockMigrations holds lockKeyMigrate: shards of one run start together,
// the first migrates, the others wait here and then find the schema current.
func (Dialect) LockMigrations(ctx context.Context, db *sql.DB, path string) (func(), error) {
	if _, err := db.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKeyMigrate); err != nil {
		return nil, fmt.Errorf("%s: wait for migration lock: %w", path, err)
	}
	return func() { db.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKeyMigrate) }, nil
}

// BeginRead: PostgreSQL's read transactions see one snapshot in REPEATABLE READ.
func (Dialect) BeginRead(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
}

// BeginScratchRead: PostgreSQL creates TEMP tables only in a read-write
// transaction, so this is one, on the read pool: it writes nothing else,
// and its callers always roll it back.
func (Dialect) BeginScratchRead(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SET TRANSACTION READ WRITE`); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// LockWrites takes the write lock (lockKeyWrite), held until commit or rollback.
func (Dialect) LockWrites(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKeyWrite); err != nil {
		return fmt.Errorf("take the catalog's write lock: %w", err)
	}
	return nil
}

// NotifyChanges queues a notification on changesChannel (notify.go).
func (Dialect) NotifyChanges(ctx context.Context, tx *sql.Tx) error { return notifyChanges(ctx, tx) }

// BeforeClose has nothing to do on PostgreSQL.
func (Dialect) BeforeClose(*sql.DB, string, *slog.Logger) {}

// InsertedIDInResult: pgx has no LastInsertId: ids are read back with RETURNING.
func (Dialect) InsertedIDInResult() bool { return false }

// ChildRowsPerInsert: a few dozen rows a statement, each statement a round
// trip to the server.
func (Dialect) ChildRowsPerInsert() int { return 32 }
