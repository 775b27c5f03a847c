package cli

import (
	"sort"
	"time"

	"github.com/regimport/regimport/catalog"
)

// runLine is one line of `regimport runs`: an unsharded run, or a sharded
// run with its shards (the run records of one execution of the group).
type runLine struct {
	run    catalog.Run   // an unsharded run, or the shards combined
	shards []catalog.Run // in id order; nil for an unsharded run
	// present is how many distinct shard indexes ran, of run.Shard.Count.
	present int
}

// groupRuns turns run records, in any order, into lines, newest first by
// first run id. Shards with the same run group form one sharded run,
// until a shard index comes again after all of them finished: that starts
// the group's next execution (a cron schedule with one group name, or the
// default name, which is the same for every execution of one command). A
// shard index that comes again while others still run is a retry and
// stays in the execution; its latest attempt counts.
func groupRuns(runs []catalog.Run) []runLine {
	sorted := append([]catalog.Run(nil), runs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	var lines []runLine
	open := map[string]int{} // run group -> index in lines of its current execution
	for _, r := range sorted {
		if !r.Shard.Sharded() {
			lines = append(lines, runLine{run: r})
			continue
		}
		key := r.Shard.Group
		if i, ok := open[key]; ok && joins(lines[i], r) {
			lines[i].shards = append(lines[i].shards, r)
			continue
		}
		open[key] = len(lines)
		lines = append(lines, runLine{shards: []catalog.Run{r}})
	}
	for i := range lines {
		if lines[i].shards != nil {
			lines[i].combine()
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].firstID() > lines[j].firstID() })
	return lines
}

// joins reports whether shard r belongs to the execution l: same N, and
// a new index, or an index again while a shard of l is still running or
// finished after r started (a retry).
func joins(l runLine, r catalog.Run) bool {
	if l.shards[0].Shard.Count != r.Shard.Count {
		return false
	}
	again := false
	for _, s := range l.shards {
		if s.Shard.Index == r.Shard.Index {
			again = true
		}
	}
	if !again {
		return true
	}
	for _, s := range l.shards {
		if s.FinishedAt.IsZero() || s.FinishedAt.After(r.StartedAt) {
			return true
		}
	}
	return false
}

func (l runLine) firstID() int64 {
	if l.shards != nil {
		return l.shards[0].ID
	}
	return l.run.ID
}

// statusRank orders the statuses of finished shards, worst last.
var statusRank = map[string]int{catalog.RunSucceeded: 0, catalog.RunPartial: 1, catalog.RunInterrupted: 2, catalog.RunFailed: 3, catalog.RunAbandoned: 4}

// statusIncomplete is a sharded run whose shards all finished but not all
// of the N ran: it did not import all it was asked to.
const statusIncomplete = "incomplete"

// combine sums the shards' latest attempts into l.run: the earliest
// start, the latest finish once every shard finished, running while any
// runs, else the worst status (incomplete when shards are missing).
func (l *runLine) combine() {
	latest := map[int]catalog.Run{}
	for _, s := range l.shards {
		latest[s.Shard.Index] = s // shards are in id order: the last attempt wins
	}
	first := l.shards[0]
	c := catalog.Run{ID: first.ID, StartedAt: first.StartedAt, Shard: first.Shard, Status: catalog.RunSucceeded}
	running := false
	var finished time.Time
	for _, s := range l.shards {
		if s.StartedAt.Before(c.StartedAt) {
			c.StartedAt = s.StartedAt
		}
	}
	for _, s := range latest {
		c.Imported += s.Imported
		c.Unchanged += s.Unchanged
		c.Failed += s.Failed
		end := s.FinishedAt
		if s.Status == catalog.RunAbandoned {
			end = s.AbandonedAt // it never recorded an end; this is when it was found dead
		}
		if s.Status == catalog.RunRunning || end.IsZero() {
			running = true
			continue
		}
		if end.After(finished) {
			finished = end
		}
		if statusRank[s.Status] > statusRank[c.Status] {
			c.Status = s.Status
		}
	}
	l.present = len(latest)
	switch {
	case running:
		c.Status = catalog.RunRunning
	case l.present < c.Shard.Count:
		c.Status, c.FinishedAt = statusIncomplete, finished
	default:
		c.FinishedAt = finished
	}
	l.run = c
}
