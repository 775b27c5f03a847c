package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/regimport/regimport/catalog"
)

// Writer is the catalog's only writer. Operations queue up and are applied in
// order, in batched transactions; each operation runs inside a savepoint so a
// bad one is rolled back alone and reported to its callback while the rest of
// the batch commits. Callbacks run on the writer goroutine after the commit:
// they must be quick and must not call the Writer.
type Writer struct {
	c      *Catalog
	opts   WriterOptions
	ops    chan op
	done   chan struct{}
	mu     sync.RWMutex // held shared while enqueuing, exclusively to close
	closed bool
	err    error
}

type op struct {
	apply func(ctx context.Context, tx *batchTx) (Outcome, error)
	done  func(Outcome, error)
}

// NewWriter starts the writer goroutine. ctx bounds the database work: pass a
// context that outlives an interrupt (context.WithoutCancel) when in-flight
// results must still be committed after the run is cancelled.
func (c *Catalog) NewWriter(ctx context.Context, opts WriterOptions) (catalog.Writer, error) {
	if c.write == nil {
		return nil, ErrReadOnly
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 100 * time.Millisecond
	}
	w := &Writer{c: c, opts: opts, ops: make(chan op, opts.BatchSize), done: make(chan struct{})}
	go w.loop(ctx)
	return w, nil
}

// PutImage stores an image unless one with the same name exists (Unchanged).
func (w *Writer) PutImage(ctx context.Context, rec ImageRecord, done func(Outcome, error)) error {
	if err := validateImage(rec); err != nil {
		if done != nil {
			done(Unchanged, err)
		}
		return nil
	}
	return w.enqueue(ctx, op{apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
		return w.c.putImage(ctx, tx, rec, w.opts.RunID)
	}, done: done})
}

// PutTag records where a tag points; a moved tag gets a new history event.
func (w *Writer) PutTag(ctx context.Context, rec TagRecord, done func(Outcome, error)) error {
	return w.enqueue(ctx, op{apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
		return w.c.putTag(ctx, tx, rec, w.opts.RunID)
	}, done: done})
}

func (w *Writer) enqueue(ctx context.Context, o op) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrWriterClosed
	}
	select {
	case w.ops <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close commits what is queued, stops the goroutine and returns the first
// error that stopped a whole batch (per-operation errors go to callbacks).
func (w *Writer) Close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.ops)
	}
	w.mu.Unlock()
	<-w.done
	return w.err
}

func (w *Writer) loop(ctx context.Context) {
	defer close(w.done)
	batch := make([]op, 0, w.opts.BatchSize)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) == 0 {
			return
		}
		w.commit(ctx, batch)
		batch = batch[:0]
	}
	for {
		select {
		case o, ok := <-w.ops:
			if !ok {
				flush()
				return
			}
			if len(batch) == 0 {
				timer.Reset(w.opts.FlushEvery)
			}
			batch = append(batch, o)
			if len(batch) >= w.opts.BatchSize {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

type result struct {
	outcome Outcome
	err     error
}

// errOpFailed aborts an optimistic batch so it can be redone op by op.
var errOpFailed = errors.New("an operation of the batch failed")

// commit applies a batch. It first runs every operation straight in one
// transaction; only if one fails is the batch redone with a savepoint per
// operation, so the bad one is rolled back alone. Savepoints cost two more
// statements per operation, which the common all-good batch does not pay.
func (w *Writer) commit(ctx context.Context, batch []op) {
	results := make([]result, len(batch))
	err := w.inTx(ctx, func(tx *batchTx) error {
		for i, o := range batch {
			out, err := o.apply(ctx, tx)
			if err != nil {
				return errOpFailed
			}
			results[i] = result{outcome: out}
		}
		return nil
	})
	if errors.Is(err, errOpFailed) {
		w.c.repoIDs = map[string]knownRepository{} // ids cached by the rolled-back attempt may not exist
		err = w.inTx(ctx, func(tx *batchTx) error {
			for i, o := range batch {
				if _, err := tx.exec(ctx, `SAVEPOINT op`); err != nil {
					return err
				}
				out, err := o.apply(ctx, tx)
				if err != nil {
					if _, rerr := tx.exec(ctx, `ROLLBACK TO op`); rerr != nil {
						return rerr
					}
					w.rolledBackTo(tx)
				}
				if _, rerr := tx.exec(ctx, `RELEASE op`); rerr != nil {
					return rerr
				}
				results[i] = result{out, err}
			}
			return nil
		})
	}
	if err != nil {
		w.c.repoIDs = map[string]knownRepository{}
		err = fmt.Errorf("catalog %s: commit batch of %d: %w", w.c.path, len(batch), err)
		if w.err == nil {
			w.err = err
		}
		for i := range results {
			results[i] = result{Unchanged, err}
		}
	}
	for i, o := range batch {
		if o.done != nil {
			o.done(results[i].outcome, results[i].err)
		}
	}
}

// rolledBackTo forgets what the writer remembered of an operation rolled
// back to its savepoint, because the database forgot it too: a repository
// it created, or brought back from removed (repoIDs, live). A later
// operation of the batch that trusted them would tag a repository row
// that is not there, or leave a repository marked removed. Forgetting
// every cached repository, not only the operation's, is simpler and costs
// a look-up per repository on this rare path. The write lock stays: the
// first SAVEPOINT, not a look-up, took it outside every savepoint
// (lockBeforeWrite), and PostgreSQL releases only the locks taken under
// the savepoint rolled back to.
func (w *Writer) rolledBackTo(tx *batchTx) {
	clear(tx.live)
	w.c.repoIDs = map[string]knownRepository{}
}

func (w *Writer) inTx(ctx context.Context, fn func(tx *batchTx) error) error {
	tx, err := w.c.beginBatch(ctx)
	if err != nil {
		return err
	}
	btx := &batchTx{tx: tx, direct: w.c.driverCaches, cache: w.c.writeStmts, stmts: map[string]*sql.Stmt{}, lockWrites: w.c.d.LockWrites, live: map[int64]bool{}}
	// Once the transaction is over, the pool's one connection is free to
	// prepare what this batch lacked, for the batches after it.
	defer func() {
		for _, q := range btx.unprepared {
			_, _ = w.c.writeStmts.get(ctx, q) // an error leaves it unprepared: the next batch tries again
		}
	}()
	if err := fn(btx); err != nil {
		tx.Rollback()
		return err
	}
	if btx.changes > 0 {
		if err := w.c.d.NotifyChanges(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	if g, ok := w.c.guard.(LockChecker); ok {
		if err := g.CheckHeld(ctx, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}
