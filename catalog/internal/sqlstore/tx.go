package sqlstore

import (
	"context"
	"database/sql"
	"math"
)

// noLimit is a LIMIT both dialects read as "no limit" (SQLite's -1 is an
// error on PostgreSQL).
const noLimit int64 = math.MaxInt64

// beginRead starts a read-only transaction that sees one snapshot.
func (c *Catalog) beginRead(ctx context.Context) (*sql.Tx, error) {
	return c.d.BeginRead(ctx, c.read)
}

// beginScratchRead is beginRead for a reader that builds TEMP tables (the
// report does); its callers always roll it back.
func (c *Catalog) beginScratchRead(ctx context.Context) (*sql.Tx, error) {
	return c.d.BeginScratchRead(ctx, c.read)
}

// BeginSnapshot starts the read-only snapshot a report reads through
// (catalog.ReportSource): it may create TEMP tables, and the caller rolls
// it back.
func (c *Catalog) BeginSnapshot(ctx context.Context) (*sql.Tx, error) {
	return c.beginScratchRead(ctx)
}

// beginWrite starts a write transaction, taking the dialect's write lock
// first (held until commit or rollback).
func (c *Catalog) beginWrite(ctx context.Context) (*sql.Tx, error) {
	tx, err := c.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if err := c.d.LockWrites(ctx, tx); err != nil {
		tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// beginBatch starts a writer batch's transaction without the write lock:
// its batchTx takes the lock at the batch's first change
// (lockBeforeWrite), so that the batches of writers in several processes
// overlap until then.
func (c *Catalog) beginBatch(ctx context.Context) (*sql.Tx, error) {
	return c.write.BeginTx(ctx, nil)
}
