package main

import (
	"strings"
	"testing"
	"time"
)

func runOf(wall, cpu time.Duration, requests int64, peakKiB int64) measuredRun {
	var r measuredRun
	r.Wall, r.CPU, r.requests, r.PeakKiB = wall, cpu, requests, peakKiB
	return r
}

// TestImportTargetsJudgeEachFigure: each target turns on its own figure,
// at its own threshold.
func TestImportTargetsJudgeEachFigure(t *testing.T) {
	size := func(tags int, baseWall, regWall, baseCPU, regCPU time.Duration, baseReqs, regReqs, peakKiB int64) importSize {
		return importSize{tags: tags,
			base: []measuredRun{runOf(baseWall, baseCPU, baseReqs, 1024)},
			reg:  []measuredRun{runOf(regWall, regCPU, regReqs, peakKiB)}}
	}
	judge := func(sizes []importSize, rerun []measuredRun) map[string]bool {
		got := map[string]bool{}
		for _, r := range importTargets(sizes, 20, rerun, 500) {
			got[strings.Fields(r.name)[0]] = r.met
		}
		return got
	}
	s := time.Second
	good := []importSize{
		size(500, s, 3*s, s, 1400*time.Millisecond, 1000, 1020, 80*1024), // speed below target, but under targetSpeedFrom tags
		size(1000, 10*s, 11*s, 10*s, 15*s, 2000, 2120, 90*1024),
	}
	rerun := []measuredRun{runOf(s, s, 522, 0)}
	for name, met := range judge(good, rerun) {
		if !met {
			t.Errorf("%s: not met on figures within every target", name)
		}
	}
	if n := len(judge(good, rerun)); n != 5 {
		t.Errorf("%d targets judged, want 5", n)
	}
	cases := map[string]func(){
		"speed":    func() { good[1].reg[0].Wall = 12 * s }, // 83%
		"CPU":      func() { good[0].reg[0].CPU = 1600 * time.Millisecond },
		"requests": func() { good[1].reg[0].requests = 2121 },     // 1.05 × 2000 + 20 = 2120
		"peak":     func() { good[1].reg[0].PeakKiB = 97 * 1024 }, // 1.21×
		"re-run":   func() { rerun[0].requests = 523 },            // 1 + 22/500 per tag
	}
	for name, spoil := range cases {
		saved := []importSize{{tags: good[0].tags, base: append([]measuredRun(nil), good[0].base...), reg: append([]measuredRun(nil), good[0].reg...)},
			{tags: good[1].tags, base: append([]measuredRun(nil), good[1].base...), reg: append([]measuredRun(nil), good[1].reg...)}}
		savedRerun := rerun[0]
		spoil()
		for got, met := range judge(good, rerun) {
			if want := got != name; met != want {
				t.Errorf("after spoiling %s: %s met=%v, want %v", name, got, met, want)
			}
		}
		good, rerun[0] = saved, savedRerun
	}
}

func TestSignedTarget(t *testing.T) {
	if tg := signedTarget([]float64{1, 1, 1}, []float64{1.2, 1.25, 1.3}); !tg.met || tg.measured != "80%" {
		t.Errorf("80%% of unsigned: %+v", tg)
	}
	if tg := signedTarget([]float64{1, 1, 1}, []float64{1.3, 1.3, 1.3}); tg.met {
		t.Errorf("77%% of unsigned met: %+v", tg)
	}
}
