// Command regimport-bench is `make bench`: it measures regimport against
// baselines on the same machine in the same run and writes each section's
// figures as a Markdown block, which -readme puts into README.md between
// the section's markers.
//
// Every measured program runs as a process of its own, started through a
// small launcher (`regimport-bench-client measure`, client/main.go, used by
// process.go) that times it from start to exit and reads its CPU and peak
// memory from its rusage: the bare HTTP client of the import section
// (`regimport-bench-client baseline`) as much as `regimport import` and
// `regimport report`.
// Sections that compare run several rounds and let the two sides take
// turns at going first (rounds.go); they report the median of the
// per-round ratios with the lowest and highest.
//
// The sections: import (import.go, baseline.go), signed (signed.go,
// shared.go), profile (profile.go), tokens (tokens.go), postgres and shards (postgres.go,
// shards.go, pgserver.go, latency.go, contents.go), report (report.go,
// report_formats.go), lineage (lineage.go), endpoint (endpoint.go, endpoint_load.go) and soak
// (soak.go). imports.go runs and checks imports; readme.go turns a
// section's figures into its block and puts the block into README.md.
// listpage_test.go is a Go benchmark of one list page, outside make bench.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	bin           string
	client        string // regimport-bench-client: the launcher and the baseline
	importTags    []int  // sizes of the import section
	repos         int
	rounds        int
	concurrency   int
	tags          int // registry size of the signed, postgres and shards sections
	reportImages  []int
	lineageImages []int // catalog sizes of the lineage section
	reportRuns    int
	out           string
	readme        string
	work          string
	soakTags      int
	endpointSize  int           // images of the endpoint section's large catalog (the small one is a tenth)
	endpointRun   time.Duration // each wrk run of the endpoint section
	profile       string
	profileBefore string // a git revision: the profile section profiles it too, as "before"
	only, skip    map[string]bool
	pgURL         string        // a PostgreSQL server to use instead of starting one
	pgCluster     string        // scripts/pg-cluster, which starts a throwaway one
	shardLatency  time.Duration // the delay per registry request of the shards' latency case
}

// section is one named part of `make bench`, which -only and -skip name
// and whose block in README.md is between <!-- bench:NAME --> markers.
type section struct {
	name string
	run  func(ctx context.Context, c config, out io.Writer) (block, error)
}

// sections are every section, in the order a full run takes them.
func sections() []section {
	return []section{
		{"import", importBench},
		{"signed", signedBench},
		{"profile", profileBench},
		{"tokens", tokenBench},
		{"postgres", postgresBench},
		{"shards", shardsBench},
		{"report", reportBench},
		{"lineage", lineageBench},
		{"endpoint", endpointBench},
		{"soak", soakBench},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	var c config
	var importTags, reportImages, lineageImages, only, skip string
	var skipPostgres bool
	fs := flag.NewFlagSet("regimport-bench", flag.ContinueOnError)
	fs.StringVar(&c.bin, "regimport", "bin/regimport", "regimport binary")
	fs.StringVar(&c.client, "client", "bin/regimport-bench-client", "the launcher and baseline client (go build ./cmd/regimport-bench/client)")
	fs.StringVar(&importTags, "import-tags", "500,1000,5000", "import section: registry sizes in tags, comma-separated (the memory figure compares the last with the first)")
	fs.IntVar(&c.tags, "tags", 1000, "tags of the registry of the signed (half of it), postgres and shards sections")
	fs.IntVar(&c.repos, "repos", 20, "repositories the tags are spread over")
	fs.IntVar(&c.rounds, "rounds", 5, "rounds of every comparison; the median and the spread are reported")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrency of both the importer and the baseline client")
	fs.StringVar(&reportImages, "report-images", "700,7000", "report section: catalog sizes in images, comma-separated")
	fs.StringVar(&lineageImages, "lineage-images", "10000,100000", "lineage section: catalog sizes in images, comma-separated (the growth figure compares the last with the first)")
	fs.IntVar(&c.reportRuns, "report-runs", 20, "report section: import runs in each catalog")
	fs.StringVar(&c.out, "out", ".bench/latest.md", "Markdown report (also printed)")
	fs.StringVar(&c.readme, "readme", "", "also rewrite this README's blocks of the sections that ran, between <!-- bench:NAME --> and <!-- /bench:NAME -->")
	fs.IntVar(&c.soakTags, "soak-tags", 20000, "tags of the soak section")
	fs.IntVar(&c.endpointSize, "endpoint-images", 10000, "endpoint section: images of the large catalog (the small one has a tenth, at least 1,000: two full pages of 500)")
	fs.DurationVar(&c.endpointRun, "endpoint-duration", 5*time.Second, "endpoint section: length of each wrk run")
	fs.StringVar(&c.profileBefore, "profile-before", "", "a git revision of this checkout: the profile section also builds regimport as it was there and profiles its imports, beside the tree's own, as before and after")
	fs.StringVar(&c.profile, "profile", "", "write CPU and heap profiles of one more import at the largest -import-tags into this directory, the signed section's CPU profiles of one more import each way, and the profile section's two CPU profiles (cold-cpu.pprof, signed-cpu.pprof)")
	fs.StringVar(&only, "only", "", "run only these sections, comma-separated: "+strings.Join(sectionNames(), ", "))
	fs.StringVar(&skip, "skip", "", "skip these sections, comma-separated")
	fs.BoolVar(&skipPostgres, "skip-postgres", false, "skip the sections that need PostgreSQL's server (postgres, shards, report; make test-deps installs it)")
	fs.StringVar(&c.pgURL, "pg", os.Getenv("REGIMPORT_BENCH_POSTGRES"), "URL of a PostgreSQL server for the postgres, shards and report sections, which create and drop databases on it (default $REGIMPORT_BENCH_POSTGRES; else a throwaway cluster is started with -pg-cluster)")
	fs.StringVar(&c.pgCluster, "pg-cluster", "scripts/pg-cluster", "the script that starts and stops a throwaway PostgreSQL cluster")
	fs.DurationVar(&c.shardLatency, "shard-latency", 100*time.Millisecond, "delay per registry request in the shards section's latency case (0 skips that case)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	var err error
	if c.importTags, err = parseInts("-import-tags", importTags); err != nil {
		return c, err
	}
	if c.reportImages, err = parseInts("-report-images", reportImages); err != nil {
		return c, err
	}
	if c.lineageImages, err = parseInts("-lineage-images", lineageImages); err != nil {
		return c, err
	}
	if c.only, err = parseSections("-only", only); err != nil {
		return c, err
	}
	if c.skip, err = parseSections("-skip", skip); err != nil {
		return c, err
	}
	if skipPostgres {
		c.skip["postgres"], c.skip["shards"], c.skip["report"] = true, true, true
	}
	if c.rounds < 1 {
		return c, fmt.Errorf("-rounds %d: at least one", c.rounds)
	}
	if len(c.only) > 0 && c.out == ".bench/latest.md" {
		c.out = ".bench/" + strings.ReplaceAll(only, ",", "-") + ".md" // a partial run never replaces the full report
	}
	return c, nil
}

func sectionNames() []string {
	var names []string
	for _, s := range sections() {
		names = append(names, s.name)
	}
	return names
}

func parseSections(flagName, list string) (map[string]bool, error) {
	set := map[string]bool{}
	if list == "" {
		return set, nil
	}
	known := map[string]bool{}
	for _, n := range sectionNames() {
		known[n] = true
	}
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if !known[n] {
			return nil, fmt.Errorf("%s %q: the sections are %s", flagName, n, strings.Join(sectionNames(), ", "))
		}
		set[n] = true
	}
	return set, nil
}

func parseInts(flagName, list string) ([]int, error) {
	var xs []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%s %q: positive whole numbers, comma-separated", flagName, list)
		}
		xs = append(xs, n)
	}
	return xs, nil
}

func run(ctx context.Context, c config, out io.Writer) error {
	var err error
	if c.work, err = os.MkdirTemp("", "regimport-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(c.work)
	st := newStamp(os.Args[1:])
	var blocks []block
	var report strings.Builder
	fmt.Fprintf(&report, "# regimport benchmark\n\n")
	for _, s := range sections() {
		if (len(c.only) > 0 && !c.only[s.name]) || c.skip[s.name] {
			continue
		}
		fmt.Fprintf(out, "== %s\n", s.name)
		b, err := s.run(ctx, c, out)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		b.stamp = st
		blocks = append(blocks, b)
		report.WriteString(b.markdown())
		report.WriteString("\n")
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, report.String())
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(c.out, []byte(report.String()), 0o644); err != nil {
		return err
	}
	if c.readme != "" {
		return rewriteREADMEFile(c.readme, blocks)
	}
	return nil
}
