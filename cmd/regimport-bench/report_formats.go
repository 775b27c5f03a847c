package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/report/reporttest"
)

// ReportConfig sizes the report benchmark. Only Regimport is required.
type ReportConfig struct {
	Regimport    string // the regimport binary; each report renders in a child process
	Images       int    // default 10,000
	Runs         int    // default 20
	Repositories int    // default 50
	Rounds       int    // renders per format; the median time is reported (default 3)
	// SmallImages is the size of a second catalog rendered to HTML to show
	// that peak memory does not grow with the catalog (default Images/10;
	// negative: skip).
	SmallImages int
	WorkDir     string    // where catalogs and reports go (default: a temporary directory, removed)
	Log         io.Writer // progress lines (default: none)
}

// ReportResult is what Report measured.
type ReportResult struct {
	Images, Runs, Repositories int
	InventoryRows              int
	CatalogBytes               int64
	Build                      time.Duration // writing the catalog through the real writer
	Formats                    []ReportFormatResult
	// SmallImages and SmallPeakKiB: the HTML report of the smaller catalog.
	SmallImages  int
	SmallPeakKiB int64
}

// ReportFormatResult is one format's figures.
type ReportFormatResult struct {
	Format      string
	Took        time.Duration // median wall time of `regimport report`, process start to exit
	PeakKiB     int64         // highest VmHWM of the child over the rounds
	OutputBytes int64
}

// Report builds a catalog of cfg.Images images over cfg.Runs runs and
// times `regimport report` in every format. Peak memory is the child's own
// VmHWM, read from /proc every 10 ms: its rusage would also count this
// process, whose memory the child shares between vfork and exec.
func Report(ctx context.Context, cfg ReportConfig) (ReportResult, error) {
	if cfg.Regimport == "" {
		return ReportResult{}, errors.New("bench: ReportConfig.Regimport (the binary) is required")
	}
	if cfg.Images <= 0 {
		cfg.Images = 10000
	}
	if cfg.Runs <= 0 {
		cfg.Runs = 20
	}
	if cfg.Repositories <= 0 {
		cfg.Repositories = 50
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
	}
	if cfg.SmallImages == 0 {
		cfg.SmallImages = cfg.Images / 10
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	res := ReportResult{Images: cfg.Images, Runs: cfg.Runs, Repositories: cfg.Repositories}
	dir := cfg.WorkDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "regimport-report-bench-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	db := filepath.Join(dir, "report-bench.db")
	start := time.Now()
	if err := reportCatalog(ctx, db, cfg.Images, cfg.Runs, cfg.Repositories); err != nil {
		return res, err
	}
	res.Build = time.Since(start)
	if fi, err := os.Stat(db); err == nil {
		res.CatalogBytes = fi.Size()
	}
	fmt.Fprintf(cfg.Log, "report bench: catalog of %d images, %d runs built in %s\n", cfg.Images, cfg.Runs, res.Build.Round(time.Millisecond))
	for _, format := range []string{"html", "json", "csv", "md"} {
		out := filepath.Join(dir, "report."+format)
		fr := ReportFormatResult{Format: format}
		var took []time.Duration
		for range cfg.Rounds {
			d, peak, err := renderReport(ctx, cfg.Regimport, db, format, out)
			if err != nil {
				return res, err
			}
			took = append(took, d)
			fr.PeakKiB = max(fr.PeakKiB, peak)
		}
		sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
		fr.Took = took[len(took)/2]
		if fi, err := os.Stat(out); err == nil {
			fr.OutputBytes = fi.Size()
		}
		if format == "csv" {
			n, err := countCSVRecords(out)
			if err != nil {
				return res, err
			}
			res.InventoryRows = n - 1
		}
		fmt.Fprintf(cfg.Log, "report bench: %s in %s, peak %d KiB\n", format, fr.Took.Round(time.Millisecond), fr.PeakKiB)
		res.Formats = append(res.Formats, fr)
	}
	if cfg.SmallImages > 0 {
		small := filepath.Join(dir, "report-bench-small.db")
		if err := reportCatalog(ctx, small, cfg.SmallImages, cfg.Runs, cfg.Repositories); err != nil {
			return res, err
		}
		res.SmallImages = cfg.SmallImages
		for range cfg.Rounds {
			_, peak, err := renderReport(ctx, cfg.Regimport, small, "html", filepath.Join(dir, "small.html"))
			if err != nil {
				return res, err
			}
			res.SmallPeakKiB = max(res.SmallPeakKiB, peak)
		}
	}
	return res, nil
}

func reportCatalog(ctx context.Context, path string, images, runs, repos int) error {
	clock := reporttest.NewClock(time.Now().Add(-time.Duration(runs) * 7 * time.Hour))
	cat, err := catalog.Open(ctx, path, catalog.Options{Now: clock.Now})
	if err != nil {
		return err
	}
	if _, err := reporttest.Generate(ctx, cat, clock, reporttest.Spec{Images: images, Runs: runs, Repositories: repos, Seed: 1}); err != nil {
		cat.Close()
		return fmt.Errorf("bench: build report catalog: %w", err)
	}
	return cat.Close()
}

// renderReport runs `regimport report` once and samples its peak RSS.
func renderReport(ctx context.Context, bin, db, format, out string) (time.Duration, int64, error) {
	args := []string{"report", "--db", db, "--format", format, "-o", out, "--since", "1", "--log-level", "error"}
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	stop := make(chan struct{})
	peak := make(chan int64)
	go func() { peak <- reportPeakRSS(cmd.Process.Pid, stop) }()
	err := cmd.Wait()
	took := time.Since(start)
	close(stop)
	peakKiB := <-peak
	if err != nil {
		return 0, 0, fmt.Errorf("%s %s: %w\n%s", bin, strings.Join(args, " "), err, stderr.String())
	}
	return took, peakKiB, nil
}

// reportPeakRSS reads VmHWM (peak resident set since exec) of pid every
// 10 ms until stop, and returns the highest value seen, in KiB.
func reportPeakRSS(pid int, stop <-chan struct{}) int64 {
	status := fmt.Sprintf("/proc/%d/status", pid)
	var peak int64
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if b, err := os.ReadFile(status); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					peak = max(peak, n)
				}
			}
		}
		select {
		case <-stop:
			return peak
		case <-tick.C:
		}
	}
}

func countCSVRecords(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.ReuseRecord = true
	n := 0
	for {
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("bench: %s: %w", path, err)
		}
		n++
	}
}

// String is a Markdown section for `make bench`.
func (r ReportResult) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Audit report (`regimport report`)\n\n")
	fmt.Fprintf(&b, "A catalog of %d images over %d runs and %d repositories (%d inventory rows, %.1f MiB, written in %s through the catalog writer). "+
		"Each figure is one `regimport report` process, start to exit (median); peak memory is its VmHWM, sampled every 10 ms.\n\n",
		r.Images, r.Runs, r.Repositories, r.InventoryRows, float64(r.CatalogBytes)/(1<<20), r.Build.Round(100*time.Millisecond))
	b.WriteString("| format | time | peak memory | output |\n|---|---:|---:|---:|\n")
	for _, f := range r.Formats {
		fmt.Fprintf(&b, "| %s | %s | %.1f MiB | %.1f MiB |\n", f.Format, f.Took.Round(time.Millisecond), float64(f.PeakKiB)/1024, float64(f.OutputBytes)/(1<<20))
	}
	if r.SmallImages > 0 && len(r.Formats) > 0 {
		big := r.Formats[0].PeakKiB
		fmt.Fprintf(&b, "\nFlat memory: the HTML report of %d images peaks at %.1f MiB, of %d images at %.1f MiB (×%.2f for ×%d images).\n",
			r.SmallImages, float64(r.SmallPeakKiB)/1024, r.Images, float64(big)/1024, float64(big)/float64(max(r.SmallPeakKiB, 1)), r.Images/max(r.SmallImages, 1))
	}
	b.WriteString("\n")
	return b.String()
}
