package importer_test

import (
	"context"
	"sync"
	"testing"

	"github.com/regimport/regimport/importer"
)

// countingProgress counts the results Progress is told about (from
// several workers at once, as Progress must allow).
type countingProgress struct {
	mu   sync.Mutex
	done map[string]int
}

func (p *countingProgress) Start(int) {}
func (p *countingProgress) Done(r importer.Result) {
	p.mu.Lock()
	p.done[r.State()]++
	p.mu.Unlock()
}

// TestDiscardResultsKeepsCountsNotResults: with DiscardResults a run keeps
// no Result per target, yet counts them by state as a run that keeps them
// does, keeps its Failures, and tells Progress about every one.
func TestDiscardResultsKeepsCountsNotResults(t *testing.T) {
	e := newEnv(t)
	refs := pushTags(t, e, "lean/app", 6)
	refs = append(refs, e.reg.Host()+"/lean/app:missing")
	run := func(discard bool) (importer.Summary, *countingProgress) {
		t.Helper()
		prog := &countingProgress{done: map[string]int{}}
		imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 4, DiscardResults: discard, Progress: prog})
		if err != nil {
			t.Fatal(err)
		}
		s, err := imp.Run(context.Background(), importer.Request{References: refs})
		if err != nil {
			t.Fatal(err)
		}
		return s, prog
	}
	cold, _ := run(true)
	if i, u, f := cold.Counts(); i != 6 || u != 0 || f != 1 || len(cold.Results) != 0 {
		t.Errorf("cold run with DiscardResults: %d imported, %d unchanged, %d failed, %d results kept; want 6/0/1, none kept", i, u, f, len(cold.Results))
	}
	// Re-runs over the same catalog, with and without results kept.
	kept, _ := run(false)
	lean, prog := run(true)
	ki, ku, kf := kept.Counts()
	li, lu, lf := lean.Counts()
	if len(lean.Results) != 0 {
		t.Errorf("DiscardResults kept %d results", len(lean.Results))
	}
	if len(kept.Results) != 7 {
		t.Errorf("a run that keeps results kept %d, want 7", len(kept.Results))
	}
	if li != ki || lu != ku || lf != kf || lu != 6 || lf != 1 || len(lean.Failures) != 1 {
		t.Errorf("counts %d/%d/%d with DiscardResults, %d/%d/%d without; want 0/6/1", li, lu, lf, ki, ku, kf)
	}
	if st := lean.States(); st["unchanged"] != 6 || st["failed"] != 1 || st["imported"] != 0 {
		t.Errorf("states %v", st)
	}
	if prog.done["unchanged"] != 6 || prog.done["failed"] != 1 {
		t.Errorf("progress saw %v, want every result", prog.done)
	}
}
