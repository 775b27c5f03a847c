package main

import (
	"fmt"
	"sort"
)

// alternate runs every one of fns once per round, rotating which goes
// first: in round r, fns[r % len(fns)] starts. With two, the baseline and
// regimport take turns at meeting the warmer (or the more tired) machine.
// It stops at the first error.
func alternate(rounds int, fns ...func(round int) error) error {
	for round := range rounds {
		for k := range fns {
			if err := fns[(k+round)%len(fns)](round); err != nil {
				return err
			}
		}
	}
	return nil
}

// spread is a figure over the rounds: its median, lowest and highest.
type spread struct {
	med, lo, hi float64
	n           int
}

// over is the spread of xs (every round's value).
func over(xs []float64) spread {
	if len(xs) == 0 {
		return spread{}
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return spread{med: median(s), lo: s[0], hi: s[len(s)-1], n: len(s)}
}

// ratios is the spread of a[i]/b[i], round by round: the median of the
// per-round ratios, which a load that changes between rounds moves less
// than the ratio of the medians.
func ratios(a, b []float64) spread {
	r := make([]float64, 0, len(a))
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			r = append(r, a[i]/b[i])
		}
	}
	return over(r)
}

// times formats a ratio spread as "0.71× (0.65–0.80)".
func (s spread) times() string {
	if s.n == 0 {
		return "–"
	}
	if s.n == 1 {
		return fmt.Sprintf("%.2f× (one round)", s.med)
	}
	return fmt.Sprintf("%.2f× (%.2f–%.2f)", s.med, s.lo, s.hi)
}

// percent formats a ratio spread as "71% (65–80%)".
func (s spread) percent() string {
	if s.n == 0 {
		return "–"
	}
	if s.n == 1 {
		return fmt.Sprintf("%.0f%% (one round)", 100*s.med)
	}
	return fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*s.med, 100*s.lo, 100*s.hi)
}

// value formats a spread of plain values with format, e.g. "%.2f s".
func (s spread) value(format string) string {
	if s.n == 0 {
		return "–"
	}
	if s.n == 1 {
		return fmt.Sprintf(format, s.med)
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", s.med, s.lo, s.hi)
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
