package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"log/slog"

	"github.com/regimport/regimport/catalog"
)

// Dialect is what one database does its own way; catalog/sqlite and
// catalog/postgres each implement it. Every other query is one text both
// accept (see params.go); nothing rewrites SQL at run time: a query that
// differs is composed from the dialect's expressions when it is built.
//
// The expressions that differ, and why they are not shared:
//   - finding a character: SQLite has instr, PostgreSQL strpos;
//   - times: SQLite stores RFC 3339 text, compared through julianday();
//     PostgreSQL stores timestamptz and compares it natively, with indexes;
//   - repository of "repository@digest": substr/instr against split_part.
type Dialect interface {
	// Name says which database this is.
	Name() catalog.Dialect

	// HasDigest is the condition "ref (a column) contains '@'".
	HasDigest(ref string) string
	// RepositoryOf is the part of ref before its '@' (ref must have one).
	RepositoryOf(ref string) string
	// Contains is the condition "the text column col contains the text expr".
	Contains(col, expr string) string
	// TimeValue is a time column as a value that orders and compares as
	// the instant it names.
	TimeValue(col string) string
	// EpochMillis is a time column as milliseconds since 1970 (a float).
	EpochMillis(col string) string
	// JSONText is the text at a path of keys in the JSON document col.
	JSONText(col string, keys ...string) string
	// DistinctList is the distinct values of the text column col joined
	// by commas, in no particular order (callers sort).
	DistinctList(col string) string
	// TimeText turns a TimeValue back into a time the Go side parses.
	TimeText(v string) string
	// TimeParam is a parameter (a placeholder) holding an RFC 3339 time, as a TimeValue.
	TimeParam(p string) string
	// TimeOrder is a key that sorts a time column by its instant to the microsecond.
	TimeOrder(col string) string
	// InsertedIDInResult says that an INSERT's sql.Result gives the id of
	// the row it inserted (LastInsertId). Where it does (SQLite), that is
	// cheaper than reading the id back with RETURNING as a row; pgx has no
	// LastInsertId, so PostgreSQL reads it back.
	InsertedIDInResult() bool
	// ChildRowsPerInsert is the most rows of one INSERT of an image's
	// layers or list entries (put.go): several rows a statement save
	// round trips where a statement is one (PostgreSQL), and cost a
	// statement journal where it is not (SQLite).
	ChildRowsPerInsert() int

	// Migrations are the dialect's migration files, NNNN_name.sql, at the root.
	Migrations() fs.FS
	// NewSchema is the schema the migrations leave, as one script, and the
	// version it is at: a new catalog at that version is created from it
	// in one transaction instead of replaying the migrations. Version 0:
	// the dialect has none, and a new catalog is migrated from the first.
	NewSchema() (version int, script string)
	// CountTables is a query for the number of tables in the catalog's schema.
	CountTables() string
	// LockMigrations serializes openers that migrate the same database
	// (a no-op where the opener serializes them itself).
	LockMigrations(ctx context.Context, db *sql.DB, path string) (release func(), err error)
	// BeginRead starts a read-only transaction that sees one snapshot.
	BeginRead(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// BeginScratchRead is BeginRead for a reader that builds TEMP tables.
	BeginScratchRead(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// LockWrites, at the start of a write transaction, makes the writers
	// of several processes commit one after the other.
	LockWrites(ctx context.Context, tx *sql.Tx) error
	// NotifyChanges, inside a write transaction that recorded changes,
	// wakes listeners once it commits (a no-op where readers poll).
	NotifyChanges(ctx context.Context, tx *sql.Tx) error
	// BeforeClose runs on the write pool before a writable catalog closes.
	BeforeClose(write *sql.DB, path string, log *slog.Logger)
}

// LockChecker is a run lock that can be lost while its process lives (a
// PostgreSQL advisory lock on a connection of its own): the writer checks
// it inside each transaction before committing (catalog.Options.RunLock).
type LockChecker interface {
	CheckHeld(ctx context.Context, tx *sql.Tx) error
}

// pg reports whether the catalog lives in PostgreSQL, for the few steps
// (the copy, statement caching) that differ beyond the dialect's expressions.
func (c *Catalog) pg() bool { return c.d.Name() == catalog.DialectPostgres }
