package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog"
)

// Catalog is an open catalog in one database, through its Dialect: it
// implements catalog.Catalog for catalog/sqlite and catalog/postgres.
type Catalog struct {
	path     string // the file, or the PostgreSQL URL without its password
	d        Dialect
	readOnly bool
	write    *sql.DB // one connection: the catalog has one writer per process
	read     *sql.DB // pooled read-only connections
	log      *slog.Logger
	now      func() time.Time

	readStmts *stmtCache
	// writeStmts are the writer's statements, prepared once on the write
	// pool's one connection and lent to each batch (batchTx.stmt).
	writeStmts *stmtCache
	// driverCaches: the driver prepares and keeps each statement per
	// connection itself (Pools.NoStmtCache), so the writer runs its
	// statements as they are instead of preparing them per batch.
	driverCaches bool
	repoIDs      map[string]knownRepository // writer goroutine only
	guard        catalog.RunLock            // checked before each write commit (Options.RunLock)
}

// Pools are a backend's connections to its catalog: a pool of read-only
// readers and, unless the catalog is opened read-only, a pool of one
// writer connection.
type Pools struct {
	// Path is the file, or the URL without its password, for messages.
	Path        string
	Read, Write *sql.DB
	// NoStmtCache: the driver keeps its own prepared statements per
	// connection (pgx does), so the catalog prepares none, neither in
	// the read pool's cache nor per writer batch.
	NoStmtCache bool
}

// Open brings a backend's pools to a catalog: a writable one is migrated
// to this build's schema, a read-only one must be there already. On an
// error the pools are closed.
func Open(ctx context.Context, p Pools, d Dialect, opts Options) (*Catalog, error) {
	c := Attach(p, d, opts)
	if err := c.migrateOrCheck(ctx, opts.ReadOnly || p.Write == nil); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Attach wraps a backend's pools without checking or migrating anything
// (CheckEmpty reads what is there).
func Attach(p Pools, d Dialect, opts Options) *Catalog {
	c := &Catalog{path: p.Path, d: d, readOnly: opts.ReadOnly || p.Write == nil, read: p.Read, write: p.Write,
		log: opts.Logger, now: opts.Now, repoIDs: map[string]knownRepository{}, guard: opts.RunLock}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.now == nil {
		c.now = time.Now
	}
	if p.Read != nil {
		c.readStmts = newStmtCache(p.Read, p.NoStmtCache)
	}
	if p.Write != nil {
		c.writeStmts = newStmtCache(p.Write, p.NoStmtCache)
	}
	c.driverCaches = p.NoStmtCache
	return c
}

// SchemaVersion is the newest migration a dialect has.
func SchemaVersion(d Dialect) int {
	ms, _ := migrations(d)
	return ms[len(ms)-1].version
}

// Dialect names the catalog's database.
func (c *Catalog) Dialect() catalog.Dialect { return c.d.Name() }

// migrateOrCheck brings a writable catalog to this build's schema, or
// checks that a read-only one is there already.
func (c *Catalog) migrateOrCheck(ctx context.Context, readOnly bool) error {
	if readOnly {
		return c.checkVersion(ctx)
	}
	return c.migrate(ctx)
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
	if c.writeStmts != nil {
		c.writeStmts.close()
	}
	var errs []error
	if c.write != nil {
		c.d.BeforeClose(c.write, c.path, c.log)
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
func migrations(d Dialect) ([]migration, error) {
	files := d.Migrations()
	entries, err := fs.ReadDir(files, ".")
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
		body, err := fs.ReadFile(files, e.Name())
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
func currentVersion(ctx context.Context, db *sql.DB, d Dialect, file string) (int, error) {
	var tables int
	count := d.CountTables()
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
	v, err := currentVersion(ctx, c.read, c.d, c.path)
	if err != nil {
		return err
	}
	want := SchemaVersion(c.d)
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
	ms, err := migrations(c.d)
	if err != nil {
		return err
	}
	// Shards of one run start together: the first migrates, the others
	// wait here and then find the schema current.
	release, err := c.d.LockMigrations(ctx, c.write, c.path)
	if err != nil {
		return err
	}
	defer release()
	v, err := currentVersion(ctx, c.write, c.d, c.path)
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
		if version, script := c.d.NewSchema(); version == ms[len(ms)-1].version {
			if err := c.createSchema(ctx, script, ms); err != nil {
				return fmt.Errorf("%s: create the schema of version %d: %w", c.path, version, err)
			}
			c.log.Info("catalog created", "catalog", c.path, "version", version)
			return nil
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

// createSchema gives a new catalog the schema every migration in ms
// leaves, from the dialect's script, and records each migration as
// applied, in one transaction: a crash leaves the file empty. Replaying
// the migrations, several of which rebuild a table, parsed the growing
// schema again at each rebuild: 20-25 ms per new SQLite file, against
// about 4 ms for the script.
func (c *Catalog) createSchema(ctx context.Context, script string, ms []migration) error {
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, script); err != nil {
		return err
	}
	for _, m := range ms {
		if err := c.recordMigration(ctx, tx, m); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// applyMigration runs one migration and records it, in one transaction.
// On SQLite it runs with foreign keys off and checks them all before it
// commits: SQLite's own procedure for schema changes, which lets a
// migration rebuild a table other tables reference (SQLite can change few
// things in place). The writer has a single connection, so the pragma
// applies to the transaction's connection.
func (c *Catalog) applyMigration(ctx context.Context, m migration) error {
	if !c.pg() {
		if _, err := c.write.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer c.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	}
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return err
	}
	if !c.pg() {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return err
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return errors.New("it leaves rows whose foreign keys point nowhere (PRAGMA foreign_key_check)")
		}
	}
	if err := c.recordMigration(ctx, tx, m); err != nil {
		return err
	}
	return tx.Commit()
}

// recordMigration records m as applied, in tx. PostgreSQL stamps the row
// itself: the statement was prepared on this connection before 0009 made
// applied_at a timestamptz, and a text parameter would stay text.
func (c *Catalog) recordMigration(ctx context.Context, tx *sql.Tx, m migration) error {
	record, args := `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, []any{m.version, m.name, formatTime(time.Now())}
	if c.pg() {
		record, args = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())`, args[:2]
	}
	_, err := tx.ExecContext(ctx, record, args...)
	return err
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
