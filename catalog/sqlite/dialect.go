package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"github.com/regimport/regimport/catalog"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Dialect is SQLite's SQL for the catalog's shared code
// (sqlstore.Dialect): times are RFC 3339 text, compared through
// julianday(); documents are JSON text.
type Dialect struct{}

// Name is catalog.DialectSQLite.
func (Dialect) Name() catalog.Dialect { return catalog.DialectSQLite }

func (Dialect) HasDigest(ref string) string { return "instr(" + ref + ", '@') > 0" }
func (Dialect) RepositoryOf(ref string) string {
	return "substr(" + ref + ", 1, instr(" + ref + ", '@') - 1)"
}
func (Dialect) Contains(col, expr string) string { return "instr(" + col + ", " + expr + ") > 0" }

// TimeValue: SQLite's text times vary in their fractional digits, so they
// compare through julianday().
func (Dialect) TimeValue(col string) string { return "julianday(" + col + ")" }
func (Dialect) EpochMillis(col string) string {
	return "((julianday(" + col + ") - 2440587.5) * 86400000.0)"
}
func (Dialect) JSONText(col string, keys ...string) string {
	return "json_extract(" + col + ", '$." + strings.Join(keys, ".") + "')"
}

// DistinctList: SQLite's DISTINCT takes one-argument aggregates only.
func (Dialect) DistinctList(col string) string { return "group_concat(DISTINCT " + col + ")" }
func (Dialect) TimeText(v string) string       { return "strftime('%Y-%m-%dT%H:%M:%fZ', " + v + ")" }
func (Dialect) TimeParam(p string) string      { return "julianday(" + p + ")" }

// TimeOrder: julianday() keeps only milliseconds, and the text sorts
// wrongly when the number of fractional digits differs, so the key is the
// text with six fractional digits.
func (Dialect) TimeOrder(col string) string {
	return "substr(" + col + ", 1, 19) || '.' || substr(ltrim(rtrim(substr(" + col + ", 20), 'Z'), '.') || '000000', 1, 6)"
}

// Migrations are every schema version's, from the first.
func (Dialect) Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory is there at build time
	}
	return sub
}

//go:embed schema.sql
var newSchema string

// schemaVersionLine starts the line of schema.sql that says which
// migration it is the schema of.
const schemaVersionLine = "-- version: "

// NewSchema is schema.sql, the schema the migrations leave, written by
// TestNewSchemaIsWhatTheMigrationsLeave (-update-schema), which fails
// while the two differ. A new file is created from it; an older catalog
// is migrated as before. A file whose version line is missing or not a
// number says version 0: no script.
func (Dialect) NewSchema() (int, string) {
	for line := range strings.Lines(newSchema) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), schemaVersionLine); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				return 0, ""
			}
			return n, newSchema
		}
	}
	return 0, ""
}

func (Dialect) CountTables() string { return `SELECT count(*) FROM sqlite_master WHERE type = 'table'` }

// LockMigrations has nothing to take: openers of one file serialize
// through LockOpen.
func (Dialect) LockMigrations(context.Context, *sql.DB, string) (func(), error) {
	return func() {}, nil
}

// BeginRead: SQLite's read transactions see one snapshot.
func (Dialect) BeginRead(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// BeginScratchRead: SQLite keeps TEMP tables in the connection's own
// temporary database, so a read-only transaction may create them.
func (d Dialect) BeginScratchRead(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	return d.BeginRead(ctx, db)
}

// LockWrites has nothing to take: the writer connection's transactions
// are IMMEDIATE (dsn), which takes SQLite's own write lock.
func (Dialect) LockWrites(context.Context, *sql.Tx) error { return nil }

// NotifyChanges has nothing to do: SQLite's readers poll the change log.
func (Dialect) NotifyChanges(context.Context, *sql.Tx) error { return nil }

// BeforeClose folds the WAL back into the main file, so that the catalog
// file alone is complete: auditors copy catalog.db, not its -wal companion.
func (Dialect) BeforeClose(write *sql.DB, path string, log *slog.Logger) {
	if _, err := write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		log.Warn("catalog checkpoint on close failed; the -wal file holds the newest data", "file", path, "error", err)
	}
}

// InsertedIDInResult: go-sqlite3 gives the rowid of the last insert, which an INTEGER PRIMARY KEY is.
func (Dialect) InsertedIDInResult() bool { return true }

// ChildRowsPerInsert is 1: a row per statement. SQLite keeps a statement
// journal for an INSERT of several rows inside a transaction (it may fail
// half-way, and must then take back its own rows only): the original of
// every page the statement changes. It holds 64 KiB in memory; a B-tree
// page split changes four or five pages, more than that with 16 KiB pages
// (pageSize), and from the first split on, the journal is a temporary file
// that every later statement of the transaction writes its pages to. In a
// cold import of 5,000 tags that was 400 MB of writes and 44,000 system
// calls, about a sixth of regimport's system time; a single-row INSERT needs no
// journal, and costs less than the rows' share of a multi-row one did.
func (Dialect) ChildRowsPerInsert() int { return 1 }
