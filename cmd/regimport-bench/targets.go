package main

import (
	"fmt"
	"strings"
)

// The speed targets a cold import is held to, against the bare client in
// the same run: the block says, for each, what was measured and whether it
// was met, so that the README never claims a target by hand.
const (
	targetSpeed        = 0.90 // of the client's speed, from targetSpeedFrom tags up
	targetSpeedFrom    = 1000
	targetCPU          = 1.5  // regimport's CPU over the client's
	targetRequests     = 1.05 // regimport's requests over the client's, plus one tag list per repository
	targetMemoryGrowth = 1.2  // peak memory at the largest size over the smallest
	targetSignedSpeed  = 0.80 // a signed import's speed over the unsigned one's
)

// target is one row of a targets table.
type target struct {
	name, measured string
	met            bool
}

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "**not met**"
}

// targetsTable is the Markdown of rows.
func targetsTable(rows []target) string {
	var b strings.Builder
	b.WriteString("| target | measured (medians) | |\n|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.name, r.measured, verdict(r.met))
	}
	return b.String()
}

// importTargets judges the import section's figures against the targets:
// each size's median over the rounds (speed only from targetSpeedFrom tags
// up), the peak memory of the largest size over the smallest, and the
// re-run's requests per tag against one HEAD per tag plus the listing
// (one tag list per repository, the catalog and the ping).
func importTargets(sizes []importSize, repos int, rerun []measuredRun, rerunTags int) []target {
	var rows []target
	speed := target{name: fmt.Sprintf("speed at least %.0f%% of the client's, from %d tags", 100*targetSpeed, targetSpeedFrom), met: true}
	cpu := target{name: fmt.Sprintf("CPU at most %.1f× the client's", targetCPU), met: true}
	reqs := target{name: fmt.Sprintf("requests at most %.2f× the client's, plus one tag list per repository", targetRequests), met: true}
	var speeds, cpus, reqss []string
	for _, s := range sizes {
		if len(s.reg) == 0 || len(s.base) == 0 {
			continue
		}
		if s.tags >= targetSpeedFrom {
			v := ratios(field(s.base, wallSeconds), field(s.reg, wallSeconds)).med
			speeds = append(speeds, fmt.Sprintf("%.0f%% at %d", 100*v, s.tags))
			speed.met = speed.met && v >= targetSpeed
		}
		v := ratios(field(s.reg, cpuSeconds), field(s.base, cpuSeconds)).med
		cpus = append(cpus, fmt.Sprintf("%.2f× at %d", v, s.tags))
		cpu.met = cpu.met && v <= targetCPU
		reg, base := median(field(s.reg, requestCount)), median(field(s.base, requestCount))
		reqss = append(reqss, fmt.Sprintf("%.0f / %.0f at %d", reg, base, s.tags))
		reqs.met = reqs.met && reg <= targetRequests*base+float64(repos)
	}
	if len(speeds) > 0 {
		speed.measured = strings.Join(speeds, ", ")
		rows = append(rows, speed)
	}
	if len(cpus) > 0 {
		cpu.measured, reqs.measured = strings.Join(cpus, ", "), strings.Join(reqss, ", ")
		rows = append(rows, cpu, reqs)
	}
	if len(sizes) > 1 {
		first, last := sizes[0], sizes[len(sizes)-1]
		g := median(field(last.reg, peakMiB)) / median(field(first.reg, peakMiB))
		rows = append(rows, target{
			name:     fmt.Sprintf("peak memory at %d tags at most %.1f× the peak at %d", last.tags, targetMemoryGrowth, first.tags),
			measured: fmt.Sprintf("%.2f×", g), met: g <= targetMemoryGrowth})
	}
	if len(rerun) > 0 && rerunTags > 0 {
		per := median(field(rerun, requestCount)) / float64(rerunTags)
		limit := 1 + float64(repos+2)/float64(rerunTags)
		rows = append(rows, target{
			name:     fmt.Sprintf("re-run of unchanged tags: one HEAD per tag, plus the listing (at most %.3f requests per tag)", limit),
			measured: fmt.Sprintf("%.3f requests per tag", per), met: per <= limit})
	}
	return rows
}

// signedTarget judges the signed section's speed (plain and signed are the
// rounds' wall times) against targetSignedSpeed.
func signedTarget(plain, signed []float64) target {
	v := ratios(plain, signed).med
	return target{name: fmt.Sprintf("a signed import at least %.0f%% of the unsigned speed", 100*targetSignedSpeed),
		measured: fmt.Sprintf("%.0f%%", 100*v), met: v >= targetSignedSpeed}
}
