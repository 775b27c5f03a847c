package importer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
)

// run is the orchestration of one import, shared by both modes (Run and
// streamimport.Import): the catalog run record, its single writer, the failures
// and verdicts gathered across workers, and the fetcher through which its
// targets are fetched.
type run struct {
	imp   *Importer
	runID int64
	// q is the run's one write queue; nil for a run that records nothing
	// (an ImageStreamImport preview).
	q *Queue
	// main fetches through the Importer's registry client.
	main *fetcher

	mu      sync.Mutex
	summary Summary
	// stored are the references the run stored, with their images, for
	// the pull verdicts read once the writes are committed (blockedPulls):
	// kept even when the Summary discards its Results, since exit code 4
	// depends on them. Only while signatures are looked up.
	stored []storedRef

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
	r.summary.dropped = map[string]int{}
	// The catalog work must outlive an interrupt so that finished images are kept.
	dbctx := context.WithoutCancel(ctx)
	if record {
		runID, err := imp.cat.BeginRun(dbctx, command, shard)
		if err != nil {
			return nil, err
		}
		r.runID = runID
	}
	if rv, err := imp.cat.ResourceVersion(ctx); err == nil && rv == 0 {
		r.emptyAtStart = true
	}
	if record {
		opts := catalog.WriterOptions{RunID: r.runID}
		if r.emptyAtStart {
			opts.BatchSize, opts.FlushEvery = coldBatchSize, coldFlushEvery
		}
		w, err := imp.cat.NewWriter(dbctx, opts)
		if err != nil {
			return nil, err
		}
		r.q = newQueue(w, imp.streamMarker)
	}
	return r, nil
}

// A cold import stores thousands of new images, each touching index pages
// all over the catalog. Committing them in larger batches, once a second
// rather than every 100 ms, writes each such page once per batch: COMMIT
// was the largest part of the writer's CPU in a cold import of 5,000 tags
// (505 of 1,780 ms in 224 commits; 223 ms in 30). A batch holds its images
// until it commits, so its size is also memory: 1,024 operations added
// about 10 MiB to that import's peak, 256 about 3; 512 is between.
// Later runs, which store few images, keep the writer's defaults.
const (
	coldBatchSize  = 512
	coldFlushEvery = time.Second
)

// via returns a fetcher through another registry client (for insecure
// imports); nil reg is the Importer's own.
func (r *run) via(reg *registry.Client) *fetcher {
	if reg == nil {
		return r.main
	}
	return newFetcher(r, reg)
}

// finish ends the run once its workers are done: it closes the write
// queue (which settles every queued write), gathers the Summary (what the
// workers gathered, what the writes did), lets the mode complete it
// (complete may be nil; it returns the run's references by outcome, or nil
// to take them from Summary.Counts), and records how the run ended:
// interrupted over a failed writer over failed references over success.
// The error is the writer's or the record's, for the run as a whole.
func (r *run) finish(ctx context.Context, interrupted bool, complete func(*Summary, error) *catalog.RunCounts) (Summary, error) {
	var werr error
	if r.q != nil {
		werr = r.q.close()
	}
	r.mu.Lock()
	sum := r.summary
	r.mu.Unlock()
	if r.q != nil {
		r.q.addTo(&sum)
	}
	sum.RunID, sum.Interrupted, sum.Registries = r.runID, interrupted, r.imp.reg.Stats()
	if r.q != nil && werr == nil {
		sum.PullBlocked = r.blockedPulls(ctx, r.stored)
	}
	var counts *catalog.RunCounts
	if complete != nil {
		counts = complete(&sum, werr)
	}
	if r.q == nil {
		return sum, werr
	}
	if counts == nil {
		imported, unchanged, failed := sum.Counts()
		counts = &catalog.RunCounts{Imported: imported, Unchanged: unchanged, Failed: failed}
	}
	status := catalog.RunSucceeded
	switch {
	case interrupted:
		status = catalog.RunInterrupted
	case werr != nil:
		status = catalog.RunFailed
	case len(sum.Failures) > 0:
		status = catalog.RunPartial
	}
	if err := r.imp.cat.FinishRun(ctx, r.runID, status, *counts, sum.Failures); err != nil {
		werr = errors.Join(werr, fmt.Errorf("record run %d: %w", r.runID, err))
	}
	return sum, werr
}

func (r *run) fail(f catalog.Failure) {
	r.imp.log.Warn("import failed", "reference", f.Reference, "reason", f.Reason)
	r.mu.Lock()
	r.summary.Failures = append(r.summary.Failures, f)
	r.mu.Unlock()
}

// failure is the Failure of reference for err.
func failure(reference string, err error) catalog.Failure {
	return catalog.Failure{Reference: reference, Reason: err.Error()}
}

// Pool runs an import's jobs on at most the Importer's concurrency. Jobs
// not started when the run's context ends are skipped; jobs in flight run
// on a context that ends the Importer's grace period later, so an
// interrupt keeps what was nearly done.
//
// Its workers are long-lived goroutines, each running job after job: a
// goroutine per job started on a small stack and grew it again through
// net/http and encoding/json for every image, and copying stacks was 6% of
// a cold import's CPU.
type Pool struct {
	ctx, work  context.Context
	cancelWork context.CancelFunc
	stopGrace  func() bool
	size       int
	jobs       chan poolJob
	mu         sync.Mutex // guards started
	started    int
	workers    sync.WaitGroup
}

type poolJob struct {
	job     func(work context.Context)
	skipped func(error)
}

func (imp *Importer) newPool(ctx context.Context) *Pool {
	p := &Pool{ctx: ctx, size: max(imp.conc, 1), jobs: make(chan poolJob)}
	p.work, p.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	p.stopGrace = context.AfterFunc(ctx, func() { time.AfterFunc(imp.grace, p.cancelWork) })
	return p
}

// Go runs job on the next free worker, with the work context, waiting for
// one when all are busy; if the run's context has ended by the time a
// worker takes it, skipped (when set) is told why instead. Go must not be
// called after Wait.
func (p *Pool) Go(job func(work context.Context), skipped func(error)) {
	j := poolJob{job: job, skipped: skipped}
	select {
	case p.jobs <- j: // an idle worker took it
		return
	default:
	}
	p.mu.Lock()
	start := p.started < p.size
	if start {
		p.started++
		p.workers.Add(1)
	}
	p.mu.Unlock()
	if start {
		go p.worker(j)
		return
	}
	p.jobs <- j
}

func (p *Pool) worker(first poolJob) {
	defer p.workers.Done()
	p.run(first)
	for j := range p.jobs {
		p.run(j)
	}
}

func (p *Pool) run(j poolJob) {
	if err := p.ctx.Err(); err != nil {
		if j.skipped != nil {
			j.skipped(err) // interrupted while waiting for a worker
		}
		return
	}
	j.job(p.work)
}

// Wait waits for every job, then releases the pool.
func (p *Pool) Wait() {
	close(p.jobs)
	p.workers.Wait()
	p.stopGrace()
	p.cancelWork()
}
