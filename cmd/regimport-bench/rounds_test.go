package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestAlternate: each side goes first in every other round.
func TestAlternate(t *testing.T) {
	var order []string
	side := func(name string) func(int) error {
		return func(round int) error { order = append(order, fmt.Sprintf("%d%s", round, name)); return nil }
	}
	if err := alternate(4, side("a"), side("b")); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(order, " "), "0a 0b 1b 1a 2a 2b 3b 3a"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
	calls := 0
	err := alternate(3, func(int) error { calls++; return fmt.Errorf("boom") }, side("b"))
	if err == nil || calls != 1 {
		t.Errorf("alternate went on after an error: %v, %d calls", err, calls)
	}
}

// TestRatiosRoundByRound: the ratio is taken per round, then its median
// and range; a slow round for both sides does not move it.
func TestRatiosRoundByRound(t *testing.T) {
	base := []float64{1, 2, 1}     // round 2 is slow for both
	reg := []float64{1.25, 2.5, 2} // the last round's ratio is an outlier
	s := ratios(reg, base)
	if s.med != 1.25 || s.lo != 1.25 || s.hi != 2 || s.n != 3 {
		t.Errorf("ratios = %+v, want median 1.25 in 1.25–2 over 3", s)
	}
	if got := s.times(); got != "1.25× (1.25–2.00)" {
		t.Errorf("times() = %q", got)
	}
	if got := over([]float64{0.5, 0.7}).percent(); got != "60% (50–70%)" {
		t.Errorf("percent() = %q", got)
	}
	if got := over([]float64{3}).value("%.1f s"); got != "3.0 s" {
		t.Errorf("value() of one round = %q", got)
	}
}

// TestReportJSONDiff: the report section names the keys whose rows differ
// between the backends, order included, and ignores the keys that describe
// the catalog itself.
func TestReportJSONDiff(t *testing.T) {
	a := []byte(`{"generatedAt":"1","catalog":{"file":"a.db"},"storage":{"bytes":1},"runs":[1,2],"imageChanges":[{"n":"x"},{"n":"y"}]}`)
	b := []byte(`{"generatedAt":"2","catalog":{"file":"postgres://"},"storage":{"bytes":9},"runs":[1,2],"imageChanges":[{"n":"y"},{"n":"x"}],"extra":1}`)
	diff, err := reportJSONDiff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(diff, ","); got != "extra,imageChanges" {
		t.Errorf("diff = %q, want extra,imageChanges", got)
	}
	if diff, err := reportJSONDiff(a, a); err != nil || len(diff) != 0 {
		t.Errorf("a report against itself: %v, %v", diff, err)
	}
	if _, err := reportJSONDiff(a, []byte("not json")); err == nil {
		t.Error("a broken report was compared")
	}
}
