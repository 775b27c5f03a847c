package catalog

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache prepares each query once per pool. SQLite spends most of a
// small insert or lookup parsing its SQL, and go-sqlite3 does not cache
// statements, so the importer's lookups go through here.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (s *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.m[query]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.m[query] = st
	return st, nil
}

func (s *stmtCache) close() {
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

// batchTx is one writer transaction with its statements prepared once per
// batch. They are prepared on the transaction itself: the write pool has a
// single connection, which the transaction holds.
type batchTx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
	// changed: a change was recorded, so listeners are notified at commit.
	changed bool
}

func (b *batchTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := b.stmts[query]; ok {
		return st, nil
	}
	st, err := b.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	b.stmts[query] = st
	return st, nil
}

func (b *batchTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := b.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (b *batchTx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := b.stmt(ctx, query)
	if err != nil {
		return b.tx.QueryRowContext(ctx, query, args...) // Scan reports the prepare error
	}
	return st.QueryRowContext(ctx, args...)
}
