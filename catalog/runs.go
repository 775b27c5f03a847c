package catalog

import (
	"fmt"
	"time"
)

// Run statuses as stored in import_runs.status.
const (
	RunRunning     = "running"
	RunSucceeded   = "succeeded"
	RunPartial     = "partial"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
	// RunAbandoned is a run a later run found still 'running' while it
	// held the lock that run would need to be alive: it died without
	// recording its end (killed, or its machine lost).
	RunAbandoned = "abandoned"
)

// Run is one import run.
type Run struct {
	ID                          int64
	StartedAt, FinishedAt       time.Time // FinishedAt is zero while running
	Status                      string
	Command                     string
	Imported, Unchanged, Failed int
	// Shard is the part of a sharded import the run took; zero when unsharded.
	Shard Shard
	// AbandonedAt and AbandonedBy say when and by which run an abandoned
	// run was found dead (zero otherwise).
	AbandonedAt time.Time
	AbandonedBy int64
}

// RunCounts are the totals a run ends with.
type RunCounts struct {
	Imported, Unchanged, Failed int
}

// Failure is one reference that failed in a run.
type Failure struct {
	Reference, Reason string
}

// CommandLine is the run's command, after the shard it took when sharded:
// shards of one run share their command, so a reader needs the index and
// group to tell them apart and put them together.
func (r Run) CommandLine() string {
	if !r.Shard.Sharded() {
		return r.Command
	}
	return fmt.Sprintf("shard %d/%d of %q: %s", r.Shard.Index, r.Shard.Count, r.Shard.Group, r.Command)
}
