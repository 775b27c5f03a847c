package catalogtest

import (
	"context"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
)

// AbandonedRuns: a run that died without recording its end stays
// 'running' until a later run that holds the lock it would need proves it
// dead; that run marks it 'abandoned', with when and by which run. A run
// the new one's lock does not prove dead (another shard) is left alone.
func (s Suite) AbandonedRuns(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	c, err := catalogdb.Open(ctx, s.NewDB(t), catalog.Options{Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	begin := func(shard catalog.Shard) int64 {
		t.Helper()
		id, err := c.BeginRun(ctx, "import", shard)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	runs := func() map[int64]catalog.Run {
		t.Helper()
		rs, err := c.Runs(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]catalog.Run{}
		for _, r := range rs {
			m[r.ID] = r
		}
		return m
	}
	abandonedAt := map[int64]time.Time{} // by the run that marked it
	want := func(id int64, status string, by int64) {
		t.Helper()
		if _, ok := abandonedAt[by]; !ok && by != 0 {
			abandonedAt[by] = at
		}
		r := runs()[id]
		if r.Status != status || r.AbandonedBy != by {
			t.Errorf("run %d: %s by %d, want %s by %d", id, r.Status, r.AbandonedBy, status, by)
		}
		if by != 0 && !r.AbandonedAt.Equal(abandonedAt[by]) {
			t.Errorf("run %d abandoned at %v, want %v (when run %d began)", id, r.AbandonedAt, abandonedAt[by], by)
		}
		if by == 0 && !r.AbandonedAt.IsZero() {
			t.Errorf("run %d has an abandoned time %v", id, r.AbandonedAt)
		}
	}

	killed := begin(catalog.Shard{})
	finished := begin(catalog.Shard{})
	want(killed, catalog.RunAbandoned, finished)
	if err := c.FinishRun(ctx, finished, catalog.RunSucceeded, catalog.RunCounts{}, nil); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Hour)
	s0 := begin(catalog.Shard{Index: 0, Count: 2, Group: "g"})
	s1 := begin(catalog.Shard{Index: 1, Count: 2, Group: "g"})
	want(s0, catalog.RunRunning, 0) // another shard: alive as far as s1 can tell
	want(s1, catalog.RunRunning, 0)
	want(finished, catalog.RunSucceeded, 0)
	again := begin(catalog.Shard{Index: 0, Count: 2, Group: "h"})
	want(s0, catalog.RunAbandoned, again) // the same shard again: s0 is dead
	want(s1, catalog.RunRunning, 0)
	whole := begin(catalog.Shard{})
	want(s1, catalog.RunAbandoned, whole)
	want(again, catalog.RunAbandoned, whole)
	want(killed, catalog.RunAbandoned, finished) // marked once, by the first run that found it
}
