package importer

import (
	"context"
	"sync"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"golang.org/x/sync/errgroup"
)

// run is the orchestration of one import, shared by both modes (Run and
// streamimport.Import): the catalog run record, its single writer, the failures
// and verdicts gathered across workers, and the fetcher through which its
// targets are fetched.
type run struct {
	imp   *Importer
	runID int64
	// w is the run's single writer; nil for a run that records nothing (an
	// ImageStreamImport preview).
	w *catalog.Writer
	// main fetches through the Importer's registry client.
	main *fetcher

	mu      sync.Mutex
	summary Summary

	// emptyAtStart skips catalog lookups that cannot hit: a first import of
	// a whole registry asks SQLite nothing per image.
	emptyAtStart bool
}

// newRun prepares one import. With record, it begins a run in the catalog
// (recorded as command, with its shard) and opens the run's single writer;
// without, it writes nothing at all.
func (imp *Importer) newRun(ctx context.Context, command string, shard catalog.Shard, record bool) (*run, error) {
	r := &run{imp: imp}
	r.main = newFetcher(r, imp.reg)
	r.summary.Verdicts = map[signatures.Verdict]int{}
	if record {
		// The catalog work must outlive an interrupt so that finished images are kept.
		dbctx := context.WithoutCancel(ctx)
		runID, err := imp.cat.BeginRun(dbctx, command, shard)
		if err != nil {
			return nil, err
		}
		if r.w, err = imp.cat.NewWriter(dbctx, catalog.WriterOptions{RunID: runID}); err != nil {
			return nil, err
		}
		r.runID, r.summary.RunID = runID, runID
	}
	if rv, err := imp.cat.ResourceVersion(ctx); err == nil && rv == 0 {
		r.emptyAtStart = true
	}
	return r, nil
}

// via returns a fetcher through another registry client (for insecure
// imports); nil reg is the Importer's own.
func (r *run) via(reg *registry.Client) *fetcher {
	if reg == nil {
		return r.main
	}
	return newFetcher(r, reg)
}

// record stores how the run ended, after its writer closed with werr:
// interrupted over a failed writer over failed references over success.
func (r *run) record(ctx context.Context, interrupted bool, werr error, counts catalog.RunCounts, failures []Failure) error {
	status := catalog.RunSucceeded
	switch {
	case interrupted:
		status = catalog.RunInterrupted
	case werr != nil:
		status = catalog.RunFailed
	case len(failures) > 0:
		status = catalog.RunPartial
	}
	stored := make([]catalog.Failure, len(failures))
	for i, f := range failures {
		stored[i] = catalog.Failure{Reference: f.Reference, Reason: f.Reason}
	}
	return r.imp.cat.FinishRun(ctx, r.runID, status, counts, stored)
}

func (r *run) fail(f Failure) {
	r.imp.log.Warn("import failed", "reference", f.Reference, "reason", f.Reason)
	r.mu.Lock()
	r.summary.Failures = append(r.summary.Failures, f)
	r.mu.Unlock()
}

// Pool runs an import's jobs on at most the Importer's concurrency. Jobs
// not started when the run's context ends are skipped; jobs in flight run
// on a context that ends the Importer's grace period later, so an
// interrupt keeps what was nearly done.
type Pool struct {
	ctx, work  context.Context
	cancelWork context.CancelFunc
	stopGrace  func() bool
	g          errgroup.Group
}

func (imp *Importer) newPool(ctx context.Context) *Pool {
	p := &Pool{ctx: ctx}
	p.work, p.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	p.stopGrace = context.AfterFunc(ctx, func() { time.AfterFunc(imp.grace, p.cancelWork) })
	p.g.SetLimit(imp.conc)
	return p
}

// Go runs job on the next free worker, with the work context; if the run's
// context has ended by then, skipped (when set) is told why instead.
func (p *Pool) Go(job func(work context.Context), skipped func(error)) {
	p.g.Go(func() error {
		if err := p.ctx.Err(); err != nil {
			if skipped != nil {
				skipped(err) // interrupted while waiting for a worker
			}
			return nil
		}
		job(p.work)
		return nil
	})
}

// Wait waits for every job, then releases the pool.
func (p *Pool) Wait() {
	_ = p.g.Wait()
	p.stopGrace()
	p.cancelWork()
}
