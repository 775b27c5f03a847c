package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// BeginRun records the start of an import run, one shard of a sharded
// import or (zero shard) a whole one, and returns its id.
func (c *Catalog) BeginRun(ctx context.Context, command string, shard Shard) (int64, error) {
	if c.write == nil {
		return 0, ErrReadOnly
	}
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("record run start: %w", err)
	}
	defer tx.Rollback()
	index, count, group := shardColumns(shard)
	now := c.timestamp()
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO import_runs (started_at, status, command, shard_index, shard_count, run_group)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, now, RunRunning, command, index, count, group).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record run start: %w", err)
	}
	// The caller holds the run lock for its shard (LockRuns), which proves
	// some earlier runs dead: an unsharded run's lock excludes every other
	// run, a shard's its own shard and every unsharded run. Those still
	// 'running' died without recording their end: mark them abandoned,
	// when and by which run.
	dead := `UPDATE import_runs SET status = $1, abandoned_at = $2, abandoned_by = $3 WHERE status = $4 AND id <> $3`
	args := []any{RunAbandoned, now, id, RunRunning}
	if shard.Sharded() {
		dead += ` AND (shard_count IS NULL OR (shard_index = $5 AND shard_count = $6))`
		args = append(args, index, count)
	}
	if _, err := tx.ExecContext(ctx, dead, args...); err != nil {
		return 0, fmt.Errorf("record run start: mark runs that died before it: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("record run start: %w", err)
	}
	return id, nil
}

// FinishRun records how a run ended and what failed in it, in one transaction.
func (c *Catalog) FinishRun(ctx context.Context, id int64, status string, counts RunCounts, failures []Failure) error {
	if c.write == nil {
		return ErrReadOnly
	}
	tx, err := c.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("record end of run %d: %w", id, err)
	}
	defer tx.Rollback()
	now := c.timestamp()
	if _, err := tx.ExecContext(ctx, `UPDATE import_runs SET finished_at = $1, status = $2, imported = $3, unchanged = $4, failed = $5 WHERE id = $6`,
		now, status, counts.Imported, counts.Unchanged, counts.Failed, id); err != nil {
		return fmt.Errorf("record end of run %d: %w", id, err)
	}
	for _, f := range failures {
		if _, err := tx.ExecContext(ctx, `INSERT INTO import_failures (run_id, reference, reason, failed_at) VALUES ($1, $2, $3, $4)`,
			id, f.Reference, f.Reason, now); err != nil {
			return fmt.Errorf("record failures of run %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record end of run %d: %w", id, err)
	}
	return nil
}

// Runs lists import runs, newest first.
func (c *Catalog) Runs(ctx context.Context, limit int) ([]Run, error) {
	max := noLimit
	if limit > 0 {
		max = int64(limit)
	}
	rows, err := c.read.QueryContext(ctx, `SELECT id, started_at, finished_at, status, command, imported, unchanged, failed,
		shard_index, shard_count, run_group, abandoned_at, abandoned_by FROM import_runs ORDER BY id DESC LIMIT $1`, max)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var runs []Run
	for rows.Next() {
		var r Run
		var started string
		var finished, group, abandonedAt sql.NullString
		var index, count, abandonedBy sql.NullInt64
		if err := rows.Scan(&r.ID, &started, &finished, &r.Status, &r.Command, &r.Imported, &r.Unchanged, &r.Failed,
			&index, &count, &group, &abandonedAt, &abandonedBy); err != nil {
			return nil, err
		}
		if abandonedAt.Valid {
			r.AbandonedAt = parseTime(abandonedAt.String)
		}
		r.AbandonedBy = abandonedBy.Int64
		r.Shard = shardOf(index, count, group)
		r.StartedAt = parseTime(started)
		if finished.Valid {
			r.FinishedAt = parseTime(finished.String)
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// RunFailures lists what failed in a run.
func (c *Catalog) RunFailures(ctx context.Context, runID int64) ([]Failure, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT reference, reason FROM import_failures WHERE run_id = $1 ORDER BY id`, runID)
	if err != nil {
		return nil, fmt.Errorf("list failures of run %d: %w", runID, err)
	}
	defer rows.Close()
	var fs []Failure
	for rows.Next() {
		var f Failure
		if err := rows.Scan(&f.Reference, &f.Reason); err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, rows.Err()
}
