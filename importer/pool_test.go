package importer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The pool runs every job, never more at once than its concurrency, on
// that many long-lived workers at most.
func TestPoolRunsEveryJobOnAtMostItsWorkers(t *testing.T) {
	imp := &Importer{conc: 3, grace: time.Second}
	p := imp.newPool(context.Background())
	var running, most, ran atomic.Int64
	for range 60 {
		p.Go(func(context.Context) {
			n := running.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(time.Millisecond)
			running.Add(-1)
			ran.Add(1)
		}, nil)
	}
	p.Wait()
	if ran.Load() != 60 || most.Load() > 3 || p.started > 3 {
		t.Errorf("ran %d of 60 jobs, at most %d at once on %d workers; want all, on at most 3", ran.Load(), most.Load(), p.started)
	}
}

// A job a worker takes once the run's context has ended is skipped, and
// told why; a job in flight keeps its work context for the grace period.
func TestPoolSkipsJobsAfterTheRunEndsAndGivesThoseInFlightTheirGrace(t *testing.T) {
	imp := &Importer{conc: 1, grace: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	p := imp.newPool(ctx)
	inFlight, release := make(chan struct{}), make(chan struct{})
	var workErr error
	p.Go(func(work context.Context) {
		close(inFlight)
		<-release
		workErr = work.Err()
	}, nil)
	<-inFlight
	cancel()
	var skippedWith error
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		p.Go(func(context.Context) { t.Error("a job taken after the run ended ran") }, func(err error) {
			mu.Lock()
			skippedWith = err
			mu.Unlock()
		})
		close(done)
	}()
	close(release)
	<-done
	p.Wait()
	mu.Lock()
	defer mu.Unlock()
	if !errors.Is(skippedWith, context.Canceled) {
		t.Errorf("the job after the interrupt was skipped with %v, want context.Canceled", skippedWith)
	}
	if workErr != nil {
		t.Errorf("the job in flight lost its work context at the interrupt: %v", workErr)
	}
}
