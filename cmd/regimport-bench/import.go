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

	"github.com/regimport/regimport/internal/testregistry"
)

// importRun is one measured `regimport import` process.
type importRun struct {
	took     time.Duration
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
	return importRun{took: took, requests: reg.Requests().Total(), peakKiB: peakKiB}, nil
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

	var ceilRates, impRates, ratios []float64
	var ceilReqs int
	var cold importRun
	for round := 0; round < c.rounds; round++ {
		reg.ResetRequests()
		n, took, reqs, err := ceiling(ctx, reg.URL(), pushed, c.concurrency)
		if err != nil {
			return "", fmt.Errorf("baseline client: %w", err)
		}
		ceilRate := float64(n) / took.Seconds()
		ceilReqs = reqs
		db := filepath.Join(c.work, fmt.Sprintf("cold-%d.db", round))
		r, err := runImport(ctx, c, reg, db)
		if err != nil {
			return "", err
		}
		impRate := float64(images) / r.took.Seconds()
		ceilRates, impRates, ratios = append(ceilRates, ceilRate), append(impRates, impRate), append(ratios, impRate/ceilRate)
		if round == 0 || r.took < cold.took {
			cold = r
		}
		fmt.Fprintf(out, "round %d: baseline %.0f images/s (%d requests), import %.0f images/s in %s (%d requests, peak %d MiB)\n",
			round+1, ceilRate, reqs, impRate, r.took.Round(time.Millisecond), r.requests, r.peakKiB/1024)
	}

	// Re-run over the last cold catalog: nothing changed in the registry.
	db := filepath.Join(c.work, fmt.Sprintf("cold-%d.db", c.rounds-1))
	var rerunRates []float64
	var rerun importRun
	for round := 0; round < c.rounds; round++ {
		r, err := runImport(ctx, c, reg, db)
		if err != nil {
			return "", err
		}
		rerunRates = append(rerunRates, float64(tags)/r.took.Seconds())
		rerun = r
	}

	var b strings.Builder
	fmt.Fprintf(&b, "## Import (%d tags, %d images: schema2, OCI, 2-platform indexes and lists; %d repositories; concurrency %d)\n\n", tags, images, c.repos, c.concurrency)
	fmt.Fprintf(&b, "| figure | baseline client | regimport | ratio |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| images/s (median of %d) | %.0f | %.0f | **%.0f%%** of the ceiling (median of the per-round ratios; target ≥ 80%%) |\n", c.rounds, median(ceilRates), median(impRates), 100*median(ratios))
	fmt.Fprintf(&b, "| HTTP requests per image | %.3f | %.3f | %+d requests in all (ping, catalog and tag lists) |\n",
		float64(ceilReqs)/float64(images), float64(cold.requests)/float64(images), cold.requests-int64(ceilReqs))
	fmt.Fprintf(&b, "| peak memory (RSS) | – | %d MiB | |\n", cold.peakKiB/1024)
	coldTagRate := float64(tags) / cold.took.Seconds()
	fmt.Fprintf(&b, "| re-run, nothing changed: tags/s | – | %.0f | %.1f× the cold import (target ≥ 3×) |\n", median(rerunRates), median(rerunRates)/coldTagRate)
	fmt.Fprintf(&b, "| re-run: requests per tag | – | %.3f | target 1 (one HEAD per tag) |\n", float64(rerun.requests)/float64(tags))

	if !c.skipScale && c.scale > 1 {
		big, bigPushed, err := seed(ctx, c, c.tags*c.scale, out)
		if err != nil {
			return "", err
		}
		defer big.Close()
		bigImages, _ := countImages(bigPushed)
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
		fmt.Fprintf(&b, "| peak memory at %d× the tags (%d images) | – | %d MiB | %.2f× the memory for %d× the tags; %.0f images/s |\n",
			c.scale, bigImages, r.peakKiB/1024, float64(r.peakKiB)/float64(cold.peakKiB), c.scale, float64(bigImages)/r.took.Seconds())
	}
	b.WriteString("\nThe baseline is a bare Go HTTP client in the benchmark process doing only the GETs an import cannot avoid (each tag's manifest, each list's children, each distinct config once) over one keep-alive pool with the same concurrency; regimport runs as a separate process and its time includes start-up, the registry ping, listing the catalog and tags, normalization and the SQLite commits.\n\n")
	return b.String(), nil
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
