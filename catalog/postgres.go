package catalog

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/regimport/regimport/internal/redact"
)

// Advisory lock keys on a PostgreSQL catalog (pg_advisory_lock's bigint
// space is the database's; these are "rgi" followed by a small number).
const (
	// lockKeyMigrate is held while migrating, so concurrent openers of a
	// new database migrate it once.
	lockKeyMigrate int64 = 0x726769_0001
	// lockKeyWrite is held by each writer transaction until it commits.
	// Writers from several processes (shards) then commit one after the
	// other, so resourceVersions, which come from a sequence, become
	// visible in order: a watcher reading "changes after N" never skips a
	// change that commits late with a smaller number.
	lockKeyWrite int64 = 0x726769_0002
)

// noLimit is a LIMIT both dialects read as "no limit" (SQLite's -1 is an
// error on PostgreSQL).
const noLimit int64 = math.MaxInt64

// IsPostgres reports whether a --db value names a PostgreSQL catalog
// (a postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// RedactDB is a --db value fit for logs, messages and the run record: a
// PostgreSQL URL loses its password, wherever it is written (userinfo or a
// password= parameter), and its fragment; a file path is kept.
func RedactDB(db string) string {
	if !IsPostgres(db) {
		return db
	}
	return redact.URL(db)
}

// openPostgres connects the two pools to a PostgreSQL catalog. Both go
// through pgConnector, which lets the catalog's SQL, written once, run
// there. The read pool is read-only at the server, so a bug cannot write
// through it; the write pool has one connection, as with SQLite, so the
// writer's batches stay in order.
func openPostgres(ctx context.Context, c *Catalog, db string, opts Options) error {
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return fmt.Errorf("open catalog %s: %v", RedactDB(db), redactErr(err, db))
	}
	host, _ := os.Hostname()
	app := fmt.Sprintf("regimport pid %d on %s", os.Getpid(), host)
	binds := &bindCache{m: map[string]boundQuery{}}
	readCfg := cfg.Copy()
	readCfg.RuntimeParams["default_transaction_read_only"] = "on"
	readCfg.RuntimeParams["application_name"] = app
	c.read = sql.OpenDB(&pgConnector{inner: stdlib.GetConnector(*readCfg), binds: binds})
	c.read.SetMaxOpenConns(16)
	c.read.SetMaxIdleConns(16)
	if err := c.read.PingContext(ctx); err != nil {
		return fmt.Errorf("open catalog %s: %v", c.path, redactErr(err, db))
	}
	c.readStmts = newStmtCache(c.read, true)
	if opts.ReadOnly {
		return nil
	}
	writeCfg := cfg.Copy()
	writeCfg.RuntimeParams["application_name"] = app
	c.write = sql.OpenDB(&pgConnector{inner: stdlib.GetConnector(*writeCfg), binds: binds})
	c.write.SetMaxOpenConns(1)
	return nil
}

// beginRead starts a read-only transaction that sees one snapshot: SQLite's
// read transactions do; PostgreSQL's need REPEATABLE READ.
func (c *Catalog) beginRead(ctx context.Context) (*sql.Tx, error) {
	opts := &sql.TxOptions{ReadOnly: true}
	if c.pg {
		opts.Isolation = sql.LevelRepeatableRead
	}
	return c.read.BeginTx(ctx, opts)
}

// beginScratchRead is beginRead for a reader that builds TEMP tables (the
// report does). PostgreSQL creates those only in a read-write
// transaction, so there it is one, on the read pool: it writes nothing
// else, and its callers always roll it back.
func (c *Catalog) beginScratchRead(ctx context.Context) (*sql.Tx, error) {
	if !c.pg {
		return c.beginRead(ctx)
	}
	tx, err := c.read.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `SET TRANSACTION READ WRITE`); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// beginWrite starts a write transaction. On PostgreSQL it first takes the
// write lock (lockKeyWrite), held until commit or rollback.
func (c *Catalog) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := c.write.BeginTx(ctx, nil)
	if err != nil || !c.pg {
		return tx, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKeyWrite); err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("take the catalog's write lock: %w", err)
	}
	return tx, nil
}

// redactErr keeps a connection error from repeating the password.
func redactErr(err error, db string) error {
	u, perr := url.Parse(db)
	if perr != nil || u.User == nil {
		return err
	}
	if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// bindCache remembers each query's PostgreSQL spelling.
type bindCache struct {
	mu sync.Mutex
	m  map[string]boundQuery
}

func (b *bindCache) get(query string) boundQuery {
	b.mu.Lock()
	defer b.mu.Unlock()
	q, ok := b.m[query]
	if !ok {
		q = rebind(query)
		b.m[query] = q
	}
	return q
}

// pgConnector is pgx's database/sql connector with the catalog's SQLite
// spelling rewritten on the way in (see rebind). It is used through
// sql.OpenDB, so no driver name is registered process-wide.
type pgConnector struct {
	inner driver.Connector
	binds *bindCache
}

func (c *pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: conn.(*stdlib.Conn), binds: c.binds}, nil
}

func (c *pgConnector) Driver() driver.Driver { return c.inner.Driver() }

type pgConn struct {
	*stdlib.Conn
	binds *bindCache
}

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	q := c.binds.get(query)
	st, err := c.Conn.PrepareContext(ctx, q.sql)
	if err != nil {
		return nil, err
	}
	return &pgStmt{inner: st, q: q}, nil
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	q := c.binds.get(query)
	bound, err := q.args(args)
	if err != nil {
		return nil, err
	}
	return c.Conn.ExecContext(ctx, q.sql, bound)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q := c.binds.get(query)
	bound, err := q.args(args)
	if err != nil {
		return nil, err
	}
	return c.Conn.QueryContext(ctx, q.sql, bound)
}

type pgStmt struct {
	inner driver.Stmt
	q     boundQuery
}

func (s *pgStmt) Close() error { return s.inner.Close() }

// NumInput is -1: named arguments make the count database/sql would check
// differ from the number of $N.
func (s *pgStmt) NumInput() int { return -1 }

func (s *pgStmt) Exec([]driver.Value) (driver.Result, error) {
	return nil, errors.New("catalog: Exec without context is not used")
}

func (s *pgStmt) Query([]driver.Value) (driver.Rows, error) {
	return nil, errors.New("catalog: Query without context is not used")
}

func (s *pgStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	bound, err := s.q.args(args)
	if err != nil {
		return nil, err
	}
	return s.inner.(driver.StmtExecContext).ExecContext(ctx, bound)
}

func (s *pgStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	bound, err := s.q.args(args)
	if err != nil {
		return nil, err
	}
	return s.inner.(driver.StmtQueryContext).QueryContext(ctx, bound)
}
