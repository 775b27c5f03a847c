package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"github.com/regimport/regimport/internal/testregistry"
)

// importRun is one measured `regimport import` process.
type importRun struct {
	took     time.Duration
	cpu      time.Duration // user + system time of the process, from its rusage
	peakKiB  int64
	requests int64
	images   int
	tags     int
}

func numCPU() int { return runtime.NumCPU() }

// countImages counts manifests the seed pushed (lists and their children).
func countImages(pushed []testregistry.Pushed) (images, tags int) {
	seen := map[string]bool{}
	var walk func(p testregistry.Pushed)
	walk = func(p testregistry.Pushed) {
		if !seen[p.Digest.String()] {
			seen[p.Digest.String()] = true
			images++
		}
		for _, c := range p.Children {
			walk(c)
		}
	}
	for _, p := range pushed {
		walk(p)
		tags += len(p.Tags)
	}
	return images, tags
}

func runImport(ctx context.Context, c config, reg *testregistry.Registry, db string, extra ...string) (importRun, error) {
	return runImportCapture(ctx, c, reg, db, io.Discard, extra...)
}

// runImportCapture runs one import and sends its standard output to stdout.
func runImportCapture(ctx context.Context, c config, reg *testregistry.Registry, db string, stdout io.Writer, extra ...string) (importRun, error) {
	args := append([]string{"import", "--db", db, "--tls-verify=false", "--catalog", "--concurrency", fmt.Sprint(c.concurrency), "--per-registry", fmt.Sprint(c.concurrency), "--log-level", "error"}, extra...)
	args = append(args, reg.Host())
	cmd := exec.CommandContext(ctx, c.bin, args...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = stdout, &stderr
	if f := os.Getenv("BENCH_STDERR"); f != "" {
		if fh, err := os.OpenFile(f, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
			defer fh.Close()
			cmd.Stderr = io.MultiWriter(&stderr, fh)
		}
	}
	reg.ResetRequests()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return importRun{}, err
	}
	// The child's rusage maxrss would count the benchmark process itself
	// (Go starts children with vfork, sharing its memory until exec), so
	// peak memory is sampled from the child's own VmHWM instead.
	peak := make(chan int64)
	stop := make(chan struct{})
	go func() { peak <- samplePeak(cmd.Process.Pid, stop) }()
	err := cmd.Wait()
	took := time.Since(start)
	close(stop)
	peakKiB := <-peak
	if err != nil {
		return importRun{}, fmt.Errorf("%s %s: %w\n%s", c.bin, strings.Join(args, " "), err, stderr.String())
	}
	return importRun{took: took, cpu: cpuTime(cmd.ProcessState), requests: reg.Requests().Total(), peakKiB: peakKiB}, nil
}

// checkCatalog fails unless the catalog (a SQLite file or a PostgreSQL
// URL) holds exactly the images and tags the registry was seeded with: a
// fast import that stored less is no result.
func checkCatalog(path string, images, tags int) error {
	db, err := openDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var gotImages, gotTags int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM tags)`).Scan(&gotImages, &gotTags); err != nil {
		return fmt.Errorf("count the catalog %s: %w", redactURL(path), err)
	}
	if gotImages != images || gotTags != tags {
		return fmt.Errorf("the catalog %s holds %d images and %d tags, the registry %d and %d", redactURL(path), gotImages, gotTags, images, tags)
	}
	return nil
}

func seed(ctx context.Context, c config, tags int, out io.Writer) (*testregistry.Registry, []testregistry.Pushed, error) {
	reg, err := testregistry.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	pushed, err := reg.SeedMixed(ctx, c.repos, tags)
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	fmt.Fprintf(out, "seeded %d tags over %d repositories in %s\n", tags, c.repos, time.Since(start).Round(time.Millisecond))
	return reg, pushed, nil
}

func importBench(ctx context.Context, c config, out io.Writer) (string, error) {
	if c.tags < 500 {
		return "", fmt.Errorf("--tags %d: the benchmark needs at least 500", c.tags)
	}
	reg, pushed, err := seed(ctx, c, c.tags, out)
	if err != nil {
		return "", err
	}
	defer reg.Close()
	images, tags := countImages(pushed)

	targets, err := writeTargets(c.work, pushed)
	if err != nil {
		return "", err
	}
	var ceilRates, impRates, ratios, ceilCPU, impCPU, cpuRatios []float64
	var ceilReqs int
	var cold importRun // the median round's requests; peak memory is the max over rounds
	for round := 0; round < c.rounds; round++ {
		var base baselineRun
		var r importRun
		db := filepath.Join(c.work, fmt.Sprintf("cold-%d.db", round))
		baseline := func() error {
			reg.ResetRequests()
			var err error
			if base, err = runBaseline(ctx, c, reg.URL(), targets); err != nil {
				return fmt.Errorf("baseline client: %w", err)
			}
			if base.Images != images {
				return fmt.Errorf("baseline client fetched %d images, the registry holds %d", base.Images, images)
			}
			return nil
		}
		regimportRun := func() error {
			var err error
			if r, err = runImport(ctx, c, reg, db); err != nil {
				return err
			}
			return checkCatalog(db, images, tags)
		}
		// Alternate which goes first, so neither always meets a warmer
		// (or more tired) registry.
		first, second := baseline, regimportRun
		if round%2 == 1 {
			first, second = regimportRun, baseline
		}
		if err := first(); err != nil {
			return "", err
		}
		if err := second(); err != nil {
			return "", err
		}
		ceilRate := float64(base.Images) / base.Took.Seconds()
		ceilReqs = base.Requests
		impRate := float64(images) / r.took.Seconds()
		ceilRates, impRates, ratios = append(ceilRates, ceilRate), append(impRates, impRate), append(ratios, impRate/ceilRate)
		baseCPU, regCPU := perImageMs(base.cpu, images), perImageMs(r.cpu, images)
		ceilCPU, impCPU, cpuRatios = append(ceilCPU, baseCPU), append(impCPU, regCPU), append(cpuRatios, regCPU/baseCPU)
		cold.requests = r.requests
		cold.peakKiB = max(cold.peakKiB, r.peakKiB)
		order := "baseline first"
		if round%2 == 1 {
			order = "regimport first"
		}
		fmt.Fprintf(out, "round %d (%s): baseline %.0f images/s (%d requests, %.3f ms CPU/image), import %.0f images/s in %s (%d requests, %.3f ms CPU/image, peak %d MiB; catalog checked: %d images, %d tags)\n",
			round+1, order, ceilRate, base.Requests, baseCPU, impRate, r.took.Round(time.Millisecond), r.requests, regCPU, r.peakKiB/1024, images, tags)
	}
	coldTook := time.Duration(float64(time.Second) * float64(images) / median(impRates))

	// Re-run over the last cold catalog: nothing changed in the registry.
	db := filepath.Join(c.work, fmt.Sprintf("cold-%d.db", c.rounds-1))
	var rerunRates []float64
	var rerun importRun
	for round := 0; round < c.rounds; round++ {
		r, err := runImport(ctx, c, reg, db)
		if err != nil {
			return "", err
		}
		if err := checkCatalog(db, images, tags); err != nil {
			return "", fmt.Errorf("re-run: %w", err)
		}
		rerunRates = append(rerunRates, float64(tags)/r.took.Seconds())
		rerun = r
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Import (%d tags, %d images: schema2, OCI, 2-platform indexes and lists; %d repositories; concurrency %d)\n\n", tags, images, c.repos, c.concurrency)
	fmt.Fprintf(&b, "| figure | baseline client | regimport | ratio |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| images/s (median of %d rounds) | %.0f | %.0f | **%.0f%%** of the baseline (median of the per-round ratios); %.0f%% (ratio of the medians); target ≥ 85%% |\n",
		c.rounds, median(ceilRates), median(impRates), 100*median(ratios), 100*median(impRates)/median(ceilRates))
	fmt.Fprintf(&b, "| CPU per image (user + system, whole process) | %.3f ms | %.3f ms | **%.2f×** the baseline (median of the per-round ratios); %.2f× (ratio of the medians); target ≤ 1.5× |\n",
		median(ceilCPU), median(impCPU), median(cpuRatios), median(impCPU)/median(ceilCPU))
	fmt.Fprintf(&b, "| HTTP requests per image | %.3f | %.3f | %+d requests in all (ping, catalog and tag lists) |\n",
		float64(ceilReqs)/float64(images), float64(cold.requests)/float64(images), cold.requests-int64(ceilReqs))
	fmt.Fprintf(&b, "| peak memory (VmHWM, max over the rounds) | – | %d MiB | |\n", cold.peakKiB/1024)
	coldTagRate := float64(tags) / coldTook.Seconds()
	fmt.Fprintf(&b, "| re-run, nothing changed: tags/s | – | %.0f | %.1f× the cold import (target ≥ 3×) |\n", median(rerunRates), median(rerunRates)/coldTagRate)
	fmt.Fprintf(&b, "| re-run: requests per tag | – | %.3f | target 1 (one HEAD per tag) |\n", float64(rerun.requests)/float64(tags))

	if !c.skipScale && c.scale > 1 {
		big, bigPushed, err := seed(ctx, c, c.tags*c.scale, out)
		if err != nil {
			return "", err
		}
		defer big.Close()
		var extra []string
		if c.profile != "" {
			if err := os.MkdirAll(c.profile, 0o755); err != nil {
				return "", err
			}
			extra = []string{"--cpu-profile", filepath.Join(c.profile, "cpu.pprof"), "--mem-profile", filepath.Join(c.profile, "mem.pprof")}
		}
		r, err := runImport(ctx, c, big, filepath.Join(c.work, "scale.db"), extra...)
		if err != nil {
			return "", err
		}
		bigImages, bigTags := countImages(bigPushed)
		if err := checkCatalog(filepath.Join(c.work, "scale.db"), bigImages, bigTags); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| peak memory at %d× the tags (%d images) | – | %d MiB | %.2f× the memory for %d× the tags; %.0f images/s |\n",
			c.scale, bigImages, r.peakKiB/1024, float64(r.peakKiB)/float64(cold.peakKiB), c.scale, float64(bigImages)/r.took.Seconds())
	}
	b.WriteString("\nThe baseline is a bare Go HTTP client in a process of its own (`regimport-bench baseline`, Go's default GC) doing only the GETs an import cannot avoid (each tag's manifest, each list's children, each distinct config once) over one keep-alive pool with the same concurrency. " +
		"regimport runs as its own process too; its time includes start-up, the registry ping, listing the catalog and tags, normalization and the SQLite commits. " +
		"The two alternate which goes first each round, against the same registry (in the benchmark process, whose CPU both compete with on this machine). " +
		"Every round's catalog is checked to hold every image and tag. CPU per image is each process's user + system time (rusage) over the images imported.\n\n")
	return b.String(), nil
}

// perImageMs is CPU time per image in milliseconds.
func perImageMs(d time.Duration, images int) float64 {
	return float64(d.Microseconds()) / 1000 / float64(images)
}

// samplePeak reads VmHWM (the peak resident set since exec) of a running
// process every 10 ms until stop, and returns the last value read.
func samplePeak(pid int, stop <-chan struct{}) int64 {
	var last int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kib int64
					if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), &kib); err == nil && kib > last {
						last = kib
					}
				}
			}
		}
		select {
		case <-stop:
			return last
		case <-tick.C:
		}
	}
}
