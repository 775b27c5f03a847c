package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/regimport/regimport/internal/testregistry"
)

// importSize is the import section's figures at one registry size, one
// value per round.
type importSize struct {
	tags, images int
	base, reg    []measuredRun
}

// importBench is the import section: for each size in c.importTags, a
// registry in this process seeded with that many mixed tags is imported
// cold by the baseline client and by `regimport import`, each in its own
// measured process, for c.rounds rounds, the two taking turns at going
// first; every round's catalog must hold every image and tag. Then
// `regimport import` runs again, c.rounds times, over the first size's
// unchanged registry and its last catalog: the re-run.
func importBench(ctx context.Context, c config, out io.Writer) (block, error) {
	fixed, err := fixedCostRounds(ctx, c, out)
	if err != nil {
		return block{}, err
	}
	var sizes []importSize
	var rerun []measuredRun
	rerunTags := 0
	for i, n := range c.importTags {
		reg, pushed, err := seed(ctx, c, n, out)
		if err != nil {
			return block{}, err
		}
		s, lastDB, err := importSizeRounds(ctx, c, reg, pushed, n, out)
		if err == nil && i == 0 {
			rerunTags = s.tags
			rerun, err = rerunRounds(ctx, c, reg, lastDB, s.images, s.tags, out)
		}
		if err == nil && c.profile != "" && i == len(c.importTags)-1 {
			err = profileImport(ctx, c, reg)
		}
		reg.Close()
		if err != nil {
			return block{}, err
		}
		sizes = append(sizes, s)
	}
	return importBlock(c, fixed, sizes, rerun, rerunTags), nil
}

// fixedCostRounds measures both sides, c.rounds times, on a registry of one
// tag: what a run costs whatever the registry's size. For regimport that is
// starting the process with its dependencies' package initialization,
// creating a new catalog file and recording the run; for the
// client, little more than starting.
func fixedCostRounds(ctx context.Context, c config, out io.Writer) (importSize, error) {
	reg, err := testregistry.Start(ctx)
	if err != nil {
		return importSize{}, err
	}
	defer reg.Close()
	pushed, err := reg.SeedMixed(ctx, 1, 1)
	if err != nil {
		return importSize{}, err
	}
	s, _, err := importSizeRounds(ctx, c, reg, pushed, 1, out)
	return s, err
}

// importSizeRounds measures the cold import at one size; it returns the
// last round's catalog.
func importSizeRounds(ctx context.Context, c config, reg *testregistry.Registry, pushed []testregistry.Pushed, n int, out io.Writer) (importSize, string, error) {
	images, tags := testregistry.Count(pushed)
	s := importSize{tags: tags, images: images}
	targets := filepath.Join(c.work, fmt.Sprintf("targets-%d.json", n))
	if err := writeTargets(targets, pushed); err != nil {
		return s, "", err
	}
	var db string
	baseline := func(round int) error {
		r, err := runBaseline(ctx, c, reg, targets, images)
		s.base = append(s.base, r)
		return err
	}
	regimport := func(round int) error {
		db = filepath.Join(c.work, fmt.Sprintf("cold-%d-%d.db", n, round))
		r, err := runImport(ctx, c, reg, db)
		if err != nil {
			return err
		}
		s.reg = append(s.reg, r)
		return checkCatalog(db, images, tags)
	}
	err := alternate(c.rounds, baseline, regimport)
	for i := range min(len(s.base), len(s.reg)) {
		b, r := s.base[i], s.reg[i]
		fmt.Fprintf(out, "import %d tags, round %d: baseline %s (%d requests, CPU %s, peak %s, registry CPU %s); regimport %s (%d requests, CPU %s, peak %s, registry CPU %s)\n",
			tags, i+1, b.Wall.Round(time.Millisecond), b.requests, b.CPU.Round(time.Millisecond), b.peakText(), b.HostCPU.Round(time.Millisecond),
			r.Wall.Round(time.Millisecond), r.requests, r.CPU.Round(time.Millisecond), r.peakText(), r.HostCPU.Round(time.Millisecond))
	}
	return s, db, err
}

// rerunRounds imports the unchanged registry again into db, rounds times.
func rerunRounds(ctx context.Context, c config, reg *testregistry.Registry, db string, images, tags int, out io.Writer) ([]measuredRun, error) {
	var runs []measuredRun
	for round := range c.rounds {
		r, err := runImport(ctx, c, reg, db)
		if err != nil {
			return nil, fmt.Errorf("re-run: %w", err)
		}
		if err := checkCatalog(db, images, tags); err != nil {
			return nil, fmt.Errorf("re-run: %w", err)
		}
		fmt.Fprintf(out, "re-run %d: %s, %d requests for %d tags\n", round+1, r.Wall.Round(time.Millisecond), r.requests, tags)
		runs = append(runs, r)
	}
	return runs, nil
}

// profileImport runs one more cold import of reg with regimport's CPU and
// heap profiles written to c.profile. It is not one of the figures.
func profileImport(ctx context.Context, c config, reg *testregistry.Registry) error {
	if err := os.MkdirAll(c.profile, 0o755); err != nil {
		return err
	}
	_, err := runImport(ctx, c, reg, filepath.Join(c.work, "profile.db"),
		"--cpu-profile", filepath.Join(c.profile, "cpu.pprof"), "--mem-profile", filepath.Join(c.profile, "mem.pprof"))
	return err
}

// field picks one figure out of measured runs.
func field(runs []measuredRun, f func(measuredRun) float64) []float64 {
	xs := make([]float64, len(runs))
	for i, r := range runs {
		xs[i] = f(r)
	}
	return xs
}

func wallSeconds(r measuredRun) float64    { return r.Wall.Seconds() }
func cpuSeconds(r measuredRun) float64     { return r.CPU.Seconds() }
func hostCPUSeconds(r measuredRun) float64 { return r.HostCPU.Seconds() }
func requestCount(r measuredRun) float64 {
	return float64(r.requests)
}
func peakMiB(r measuredRun) float64 { return float64(r.PeakKiB) / 1024 }

// importBlock is the import section's Markdown.
func importBlock(c config, fixed importSize, sizes []importSize, rerun []measuredRun, rerunTags int) block {
	var b strings.Builder
	b.WriteString("| tags (images) | bare client, start to exit | regimport, start to exit | regimport's speed | CPU, regimport / client | requests, regimport / client | peak memory (maxrss), client / regimport |\n|---|---|---|---|---|---|---|\n")
	for _, s := range sizes {
		speed := ratios(field(s.base, wallSeconds), field(s.reg, wallSeconds))
		cpu := ratios(field(s.reg, cpuSeconds), field(s.base, cpuSeconds))
		reqs := ratios(field(s.reg, requestCount), field(s.base, requestCount))
		fmt.Fprintf(&b, "| %d (%d) | %s | %s | **%s** of the client's | **%s** | %.0f / %.0f: %s | %s / %s |\n",
			s.tags, s.images,
			over(field(s.base, wallSeconds)).value("%.2f s"), over(field(s.reg, wallSeconds)).value("%.2f s"),
			speed.percent(), cpu.times(),
			median(field(s.reg, requestCount)), median(field(s.base, requestCount)), reqs.times(),
			peakOf(s.base), peakOf(s.reg))
	}
	for _, s := range sizes {
		if len(s.reg) > 0 && len(s.base) > 0 {
			fmt.Fprintf(&b, "\nRequests at %d tags by kind (last round), regimport / client: %s.\n", s.tags, requestKinds(s.reg[len(s.reg)-1].counts, s.base[len(s.base)-1].counts))
		}
	}
	for _, s := range sizes {
		if len(s.reg) > 0 && len(s.base) > 0 {
			fmt.Fprintf(&b, "\nCPU at %d tags, the registry's (the benchmark's own process while each side ran) and each side's own: %s serving the client, which took %s; %s serving regimport, which took %s.\n",
				s.tags, over(field(s.base, hostCPUSeconds)).value("%.2f s"), over(field(s.base, cpuSeconds)).value("%.2f s"),
				over(field(s.reg, hostCPUSeconds)).value("%.2f s"), over(field(s.reg, cpuSeconds)).value("%.2f s"))
		}
	}
	if len(fixed.reg) > 0 && len(fixed.base) > 0 {
		fmt.Fprintf(&b, "\nWhat a run costs whatever its size, measured on a registry of one tag (%d rounds): regimport %s of CPU, the client %s.",
			len(fixed.reg), over(field(fixed.reg, cpuSeconds)).value("%.3f s"), over(field(fixed.base, cpuSeconds)).value("%.3f s"))
		var shares []string
		for _, s := range sizes {
			if len(s.reg) > 0 {
				shares = append(shares, fmt.Sprintf("%.0f%% at %d tags", 100*median(field(fixed.reg, cpuSeconds))/median(field(s.reg, cpuSeconds)), s.tags))
			}
		}
		if len(shares) > 0 {
			fmt.Fprintf(&b, " Of regimport's CPU (medians), that is %s.", strings.Join(shares, ", "))
		}
		b.WriteString("\n")
	}
	if len(sizes) > 1 {
		first, last := sizes[0], sizes[len(sizes)-1]
		fmt.Fprintf(&b, "\nregimport's peak memory at %d tags over its peak at %d tags: **%.2f×** (medians over the rounds).\n",
			last.tags, first.tags, median(field(last.reg, peakMiB))/median(field(first.reg, peakMiB)))
	}
	if len(rerun) > 0 {
		fmt.Fprintf(&b, "\nRe-run of the %d unchanged tags (%d runs over the last cold catalog): %s, **%s requests per tag**.\n",
			rerunTags, len(rerun), over(field(rerun, wallSeconds)).value("%.2f s"), over(scaled(field(rerun, requestCount), 1/float64(rerunTags))).value("%.3f"))
	}
	if rows := importTargets(sizes, c.repos, rerun, rerunTags); len(rows) > 0 {
		b.WriteString("\nThe targets this import is held to, judged from the figures above:\n\n")
		b.WriteString(targetsTable(rows))
	}
	b.WriteString("\nBoth sides run as processes of their own, each started by a small launcher that reads its rusage: time is start to exit, CPU is user + system, peak memory is its maxrss. " +
		"The bare client (`regimport-bench-client baseline`) fetches each tag's manifest, every list child and every distinct config over one keep-alive pool at the same concurrency and stores nothing; it is given the tags, where regimport pings the registry and lists the repositories and their tags. " +
		"regimport runs `import --catalog` into a new SQLite file. Requests are counted at the registry, which runs in the benchmark's process on the same CPUs; its CPU is that process's own rusage over each run. " +
		"Both sides and the registry share the CPUs, so a side's time follows its CPU and the registry's together. " +
		"Each figure is the median over the rounds with the lowest and highest in brackets; the ratios are taken round by round, and the two sides take turns at going first. " +
		"Every round's catalog is checked to hold every image and tag.\n")
	return block{
		name:  "import",
		title: "Import: a cold import and a re-run against a bare HTTP client",
		flags: fmt.Sprintf("-import-tags %s -rounds %d -concurrency %d -repos %d", joinInts(c.importTags), c.rounds, c.concurrency, c.repos),
		body:  b.String(),
	}
}

// peakOf is the median peak memory of runs, as text.
func peakOf(runs []measuredRun) string {
	if len(runs) == 0 {
		return "–"
	}
	floor := int64(0)
	for _, r := range runs {
		floor = max(floor, r.FloorKiB)
	}
	m := median(field(runs, peakMiB))
	if m*1024 <= float64(floor) {
		return fmt.Sprintf("≤ %.0f MiB", float64(floor)/1024)
	}
	return fmt.Sprintf("%.0f MiB", m)
}

func scaled(xs []float64, k float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * k
	}
	return out
}

// requestKinds lists the request kinds either side sent, with both counts.
func requestKinds(reg, base testregistry.RequestCounts) string {
	kinds := map[string]bool{}
	for k := range reg {
		kinds[k] = true
	}
	for k := range base {
		kinds[k] = true
	}
	var names []string
	for k := range kinds {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = fmt.Sprintf("%s %d / %d", k, reg.Get(k), base.Get(k))
	}
	return strings.Join(parts, ", ")
}
