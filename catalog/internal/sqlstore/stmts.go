package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"time"
)

// stmtCache prepares each query once per pool. SQLite spends most of a
// small insert or lookup parsing its SQL, and go-sqlite3 does not cache
// statements, so the importer's lookups go through here.
//
// On PostgreSQL it is off: pgx already prepares each query once per
// connection and keeps it, and a database/sql statement would cost a
// Parse and a Deallocate round trip of its own on every connection it
// lands on.
type stmtCache struct {
	db  *sql.DB
	off bool
	mu  sync.Mutex
	m   map[string]*sql.Stmt
	// closed is set by close; background prepares (prepareLater) run
	// under background, which close cancels, and close waits for them:
	// one still running after the catalog is closed would hold (or open)
	// a connection to the file, and a SQLite connection opened then
	// creates the -shm file beside a catalog its owner may be deleting.
	closed     bool
	background context.Context
	cancel     context.CancelFunc
	pending    sync.WaitGroup
}

// errNoCache makes callers run the query directly.
var errNoCache = errors.New("statement cache is off")

// errCacheClosed is a prepare that finished after close.
var errCacheClosed = errors.New("statement cache is closed")

func newStmtCache(db *sql.DB, off bool) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{db: db, off: off, m: map[string]*sql.Stmt{}, background: ctx, cancel: cancel}
}

// get returns the query's statement, preparing it on the pool if needed.
// Preparing takes a connection of the pool: never call get while holding
// one (inside a read transaction), or a full pool waits on itself; use
// peek there. The mutex is not held while preparing, for the same reason.
func (s *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.peek(query); ok || s.off {
		if s.off {
			return nil, errNoCache
		}
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		st.Close()
		return nil, errCacheClosed
	}
	if had, ok := s.m[query]; ok { // prepared meanwhile by another caller
		st.Close()
		return had, nil
	}
	s.m[query] = st
	return st, nil
}

// peek returns the query's statement if it is prepared already, without
// touching the pool.
func (s *stmtCache) peek(query string) (*sql.Stmt, bool) {
	if s.off {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[query]
	return st, ok
}

// prepareLater prepares the query on the pool in the background, for a
// caller that holds a connection and so must not wait for another.
func (s *stmtCache) prepareLater(query string) {
	if s.off {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		ctx, cancel := context.WithTimeout(s.background, time.Minute)
		defer cancel()
		_, _ = s.get(ctx, query) // an error leaves it unprepared: the next use tries again
	}()
}

// close closes every statement, once no background prepare is left: it
// cancels those waiting for a connection and waits for them all.
func (s *stmtCache) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.pending.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.m {
		st.Close()
	}
	s.m = map[string]*sql.Stmt{}
}

// readRow runs a cached single-row query on the read pool.
func (c *Catalog) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := c.readStmts.get(ctx, query)
	if err != nil {
		return c.read.QueryRowContext(ctx, query, args...) // Scan reports the prepare error
	}
	return st.QueryRowContext(ctx, args...)
}

// readQuery runs a cached query on the read pool, for fixed SQL a caller
// runs once per image or pair (verify and its dry run read several per
// pair): unprepared, SQLite parsed and planned it at every call.
func (c *Catalog) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.readStmts.get(ctx, query)
	if err != nil {
		return c.read.QueryContext(ctx, query, args...) // the cache is off (PostgreSQL), or the error recurs here
	}
	return st.QueryContext(ctx, args...)
}

// batchTx is one writer transaction. On SQLite its statements come from
// the catalog's writeStmts, prepared once on the write pool's single
// connection: preparing them again for every batch cost as much as running
// them in a cold import's small batches. A statement the cache does not
// have yet is prepared on the transaction itself (the pool's one
// connection is held by it) and noted in unprepared, for the writer to
// prepare on the pool once the transaction is over. On PostgreSQL
// (direct, Pools.NoStmtCache) statements run as they are, and pgx's own
// per-connection cache prepares them once for the life of the connection.
type batchTx struct {
	tx     *sql.Tx
	direct bool
	cache  *stmtCache
	stmts  map[string]*sql.Stmt
	// unprepared are the queries the cache lacked (see above).
	unprepared []string
	// changes are the changes recorded (less those taken back): listeners
	// are notified at commit when there are any.
	changes int
	// lockWrites takes the dialect's write lock (Dialect.LockWrites), once
	// locked is false, before the transaction's first change.
	lockWrites func(ctx context.Context, tx *sql.Tx) error
	locked     bool
	// live are the repositories this transaction has seen are not marked
	// removed (putTag); RemoveRepository takes its repository out.
	live map[int64]bool
}

// lockBeforeWrite takes the write lock before the transaction's first
// statement that is not a SELECT. The lock orders the commits of writers
// in several processes (PostgreSQL's resourceVersions must become visible
// in order), so it must be held from the first change to the commit; the
// look-ups before it run while another process holds it. Images and
// tags are stored by true upserts, and a tag is written by one process
// only (its run's or shard's), so a row another writer stored between a
// look-up and the lock cannot make them fail; the other operations take
// the lock before they read (lock).
func (b *batchTx) lockBeforeWrite(ctx context.Context, query string) error {
	if b.locked || isLookup(query) {
		return nil
	}
	if err := b.lockWrites(ctx, b.tx); err != nil {
		return err
	}
	b.locked = true
	return nil
}

// lock takes the write lock now, for an operation that reads what it is
// about to change (an image stream, a verdict, what prune or a removal
// deletes): what it read must not change before it writes.
func (b *batchTx) lock(ctx context.Context) error {
	return b.lockBeforeWrite(ctx, "")
}

// isLookup says that query only reads: a SELECT.
func isLookup(query string) bool {
	q := strings.TrimLeft(query, " \t\n")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}

func (b *batchTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := b.stmts[query]; ok {
		return st, nil
	}
	var st *sql.Stmt
	if shared, ok := b.cache.peek(query); ok {
		st = b.tx.StmtContext(ctx, shared)
	} else {
		var err error
		if st, err = b.tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
		b.unprepared = append(b.unprepared, query)
	}
	b.stmts[query] = st
	return st, nil
}

func (b *batchTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := b.lockBeforeWrite(ctx, query); err != nil {
		return nil, err
	}
	if b.direct {
		return b.tx.ExecContext(ctx, query, args...)
	}
	st, err := b.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// rowScanner is the one row queryRow returns (a *sql.Row).
type rowScanner interface{ Scan(dest ...any) error }

// errRow is a row whose Scan reports err.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

func (b *batchTx) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	if err := b.lockBeforeWrite(ctx, query); err != nil {
		return errRow{err}
	}
	if b.direct {
		return b.tx.QueryRowContext(ctx, query, args...)
	}
	st, err := b.stmt(ctx, query)
	if err != nil {
		return b.tx.QueryRowContext(ctx, query, args...) // Scan reports the prepare error
	}
	return st.QueryRowContext(ctx, args...)
}
