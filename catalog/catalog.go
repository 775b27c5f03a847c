package catalog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Errors callers check with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrNotCatalog  = errors.New("not a regimport catalog")
	ErrTooNew      = errors.New("catalog schema is newer than this regimport")
	ErrReadOnly    = errors.New("catalog opened read-only")
	ErrNeedMigrate = errors.New("catalog schema is older than this regimport")
)

// Options configure Open. The zero value opens for writing with a discarding logger.
type Options struct {
	// ReadOnly opens the file without write access; it must already be a
	// catalog at the current schema version (a read-only opener cannot migrate).
	ReadOnly bool
	// Logger receives migration notices; nil discards.
	Logger *slog.Logger
	// Now is the clock for timestamps; nil uses time.Now. Tests inject one.
	Now func() time.Time
	// RunLock, when set, is the run lock the opener holds. Every writer
	// transaction then checks, just before it commits, that the run still
	// holds it (RunLock.checkHeld), and fails with ErrLockLost when not: a
	// PostgreSQL run lock lives on an idle connection of its own, which
	// the server or a proxy may close without the run noticing. SQLite's
	// file locks cannot be lost while the process lives: nothing to check.
	RunLock *RunLock
}

// Catalog is an open catalog: a SQLite file, or a PostgreSQL database.
type Catalog struct {
	path     string // the file, or the PostgreSQL URL without its password
	pg       bool   // PostgreSQL; else SQLite
	readOnly bool
	write    *sql.DB // one connection: SQLite allows one writer
	read     *sql.DB // pooled read-only connections
	log      *slog.Logger
	now      func() time.Time

	readStmts *stmtCache
	repoIDs   map[string]int64 // writer goroutine only
	guard     *RunLock         // checked before each write commit (Options.RunLock)
}

// SchemaVersion is the newest migration this build knows.
func SchemaVersion() int {
	ms, _ := migrations(false)
	return ms[len(ms)-1].version
}

// Open opens (creating and migrating if needed) the catalog db: a SQLite
// file path, or a postgres:// URL (see IsPostgres).
func Open(ctx context.Context, db string, opts Options) (*Catalog, error) {
	c := &Catalog{path: RedactDB(db), pg: IsPostgres(db), readOnly: opts.ReadOnly, log: opts.Logger, now: opts.Now, repoIDs: map[string]int64{}, guard: opts.RunLock}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.pg {
		if err := openPostgres(ctx, c, db, opts); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.migrateOrCheck(ctx, opts.ReadOnly); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	return openSQLite(ctx, c, db, opts)
}

// migrateOrCheck brings a writable catalog to this build's schema, or
// checks that a read-only one is there already.
func (c *Catalog) migrateOrCheck(ctx context.Context, readOnly bool) error {
	if readOnly {
		return c.checkVersion(ctx)
	}
	return c.migrate(ctx)
}

// openSQLite opens the catalog file: a pool of readers and, unless
// read-only, one writer connection (SQLite allows one writer).
func openSQLite(ctx context.Context, c *Catalog, file string, opts Options) (*Catalog, error) {
	if opts.ReadOnly {
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("open catalog %s: %w", file, err)
		}
	}
	read, err := sql.Open("sqlite3", dsn(file, true))
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	c.read = read
	// Enough readers for the importer's workers and the endpoint's requests
	// not to queue for a connection; each holds at most a 2 MiB page cache.
	read.SetMaxOpenConns(16)
	read.SetMaxIdleConns(16)
	c.readStmts = newStmtCache(read, false)
	if !opts.ReadOnly {
		if err := createPrivate(file); err != nil {
			read.Close()
			return nil, fmt.Errorf("open catalog %s: %w", file, err)
		}
		write, err := sql.Open("sqlite3", dsn(file, false))
		if err != nil {
			read.Close()
			return nil, fmt.Errorf("open catalog %s: %w", file, err)
		}
		write.SetMaxOpenConns(1)
		c.write = write
		if err := c.migrateOrCheck(ctx, false); err != nil {
			c.Close()
			return nil, err
		}
		// Checkpoint less often than every 1,000 pages: an import writes in
		// bursts, and each checkpoint costs a copy and an fsync.
		if _, err := c.write.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 8192`); err != nil {
			c.Close()
			return nil, fmt.Errorf("open catalog %s: %w", file, err)
		}
	} else if err := c.checkVersion(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// createPrivate creates a new catalog file readable and writable by its
// owner only (0600, less whatever the umask removes). The catalog holds
// private images' manifests and configs; SQLite would create it 0644, and
// gives its -wal and -shm files the main file's permissions, so creating
// the file first covers all three. An existing file keeps its mode: its
// owner chose it.
func createPrivate(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

func dsn(file string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "NORMAL")
		q.Set("_txlock", "immediate")
		// A bigger page cache for the writer: image names are random
		// digests, so index inserts touch pages all over the file.
		q.Set("_cache_size", "-16384")
	}
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
}

// Path is the file this catalog was opened from.
func (c *Catalog) Path() string { return c.path }

// Close releases both connection pools. A writer first folds the WAL back
// into the main file, so that the catalog file alone is complete: auditors
// copy catalog.db, not its -wal companion.
func (c *Catalog) Close() error {
	if c.readStmts != nil {
		c.readStmts.close()
	}
	var errs []error
	if c.write != nil && !c.pg {
		if _, err := c.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			c.log.Warn("catalog checkpoint on close failed; the -wal file holds the newest data", "file", c.path, "error", err)
		}
	}
	if c.write != nil {
		errs = append(errs, c.write.Close())
	}
	if c.read != nil {
		errs = append(errs, c.read.Close())
	}
	return errors.Join(errs...)
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists a dialect's migrations, oldest first. PostgreSQL's
// start at the version SQLite had reached when it was added; from there
// on each migration has a file per dialect with the same number.
func migrations(pg bool) ([]migration, error) {
	dir := "migrations/sqlite"
	if pg {
		dir = "migrations/postgres"
	}
	entries, err := migrationFiles.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %s: name must start with a number", e.Name())
		}
		body, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// currentVersion reads the applied schema version: 0 for an empty file or
// database, ErrNotCatalog for one with other tables, or a file that is not SQLite.
func currentVersion(ctx context.Context, db *sql.DB, pg bool, file string) (int, error) {
	var tables int
	count := `SELECT count(*) FROM sqlite_master WHERE type = 'table'`
	if pg {
		count = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`
	}
	if err := db.QueryRowContext(ctx, count).Scan(&tables); err != nil {
		return 0, fmt.Errorf("%s: %w: %v", file, ErrNotCatalog, err)
	}
	if tables == 0 {
		return 0, nil
	}
	var v int
	err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("%s: %w (it has tables but no schema_migrations)", file, ErrNotCatalog)
	}
	return v, nil
}

func (c *Catalog) checkVersion(ctx context.Context) error {
	v, err := currentVersion(ctx, c.read, c.pg, c.path)
	if err != nil {
		return err
	}
	want := SchemaVersion()
	switch {
	case v == 0:
		return fmt.Errorf("%s: %w (the file is empty)", c.path, ErrNotCatalog)
	case v > want:
		return fmt.Errorf("%s: %w (file at version %d, this build knows up to %d)", c.path, ErrTooNew, v, want)
	case v < want:
		return fmt.Errorf("%s: %w (file at version %d, needs %d): open it once for writing, e.g. `regimport migrate --db %s`", c.path, ErrNeedMigrate, v, want, c.path)
	}
	return nil
}

// migrate applies every migration newer than the file, each in its own
// transaction together with its schema_migrations row, so a crash leaves the
// file at a whole version.
func (c *Catalog) migrate(ctx context.Context) error {
	ms, err := migrations(c.pg)
	if err != nil {
		return err
	}
	if c.pg {
		// Shards of one run start together: the first migrates, the
		// others wait here and then find the schema current.
		if _, err := c.write.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKeyMigrate); err != nil {
			return fmt.Errorf("%s: wait for migration lock: %w", c.path, err)
		}
		defer c.write.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKeyMigrate)
	}
	v, err := currentVersion(ctx, c.write, c.pg, c.path)
	if err != nil {
		return err
	}
	if latest := ms[len(ms)-1].version; v > latest {
		return fmt.Errorf("%s: %w (file at version %d, this build knows up to %d)", c.path, ErrTooNew, v, latest)
	}
	if v == 0 {
		if _, err := c.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("%s: create schema_migrations: %w", c.path, err)
		}
	}
	for _, m := range ms {
		if m.version <= v {
			continue
		}
		if err := c.applyMigration(ctx, m); err != nil {
			return fmt.Errorf("%s: migration %s: %w", c.path, m.name, err)
		}
		c.log.Info("catalog migrated", "catalog", c.path, "version", m.version, "migration", m.name)
	}
	return nil
}

// applyMigration runs one migration and records it, in one transaction.
// On SQLite it runs with foreign keys off and checks them all before it
// commits: SQLite's own procedure for schema changes, which lets a
// migration rebuild a table other tables reference (SQLite can change few
// things in place). The writer has a single connection, so the pragma
// applies to the transaction's connection.
func (c *Catalog) applyMigration(ctx context.Context, m migration) error {
	if !c.pg {
		if _, err := c.write.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer c.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	}
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		tx.Rollback()
		return err
	}
	if !c.pg {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			tx.Rollback()
			return err
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			tx.Rollback()
			return errors.New("it leaves rows whose foreign keys point nowhere (PRAGMA foreign_key_check)")
		}
	}
	// PostgreSQL stamps the row itself: the statement was prepared
	// on this connection before 0009 made applied_at a timestamptz,
	// and a text parameter would stay text.
	record, args := `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, []any{m.version, m.name, formatTime(time.Now())}
	if c.pg {
		record, args = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`, args[:2]
	}
	if _, err := tx.ExecContext(ctx, record, args...); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (c *Catalog) timestamp() string { return formatTime(c.now()) }

// formatTime is the text of a time as the catalog stores it: RFC 3339 in
// UTC, to the microsecond, which is PostgreSQL's precision, so that a
// catalog and its copy on the other backend hold the same instants.
func formatTime(t time.Time) string { return t.UTC().Round(time.Microsecond).Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}
