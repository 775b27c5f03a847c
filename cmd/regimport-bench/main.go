// Command regimport-bench is `make bench`: it measures regimport against a
// baseline run on the same machine in the same run, and prints ratios.
//
// Import: a distribution registry in this process is seeded with mixed tags
// (schema2, OCI, indexes); a bare keep-alive HTTP client doing only the
// unavoidable GETs, in a process of its own (`regimport-bench baseline`),
// sets the ceiling; the real binary imports the whole registry
// (`regimport import --catalog`), the two alternating which goes first each
// round, and each round's catalog is checked for every image and tag. They
// are compared in images/s, CPU per image and requests per image. Peak memory
// is the child's VmHWM, the maximum over the rounds, at N and 10×N tags. A
// second import of the unchanged registry is the re-run figure.
//
// PostgreSQL (postgres.go) and shards (shards.go): on a PostgreSQL server
// the benchmark starts (scripts/pg-cluster) or is given (-pg), the same
// registry is imported into a new SQLite file against a new PostgreSQL
// database, and by three `--shard I/3` processes at once against one
// process, every catalog compared with the single run's.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

type config struct {
	bin          string
	tags         int
	scale        int
	repos        int
	rounds       int
	concurrency  int
	out          string
	work         string
	skipScale    bool
	skipEndpoint bool
	skipReport   bool
	skipSoak     bool
	skipPostgres bool
	soakTags     int
	profile      string
	only         string
	onlyTokens   bool
	pgURL        string        // a PostgreSQL server to use instead of starting one
	pgCluster    string        // scripts/pg-cluster, which starts a throwaway one
	shardLatency time.Duration // the delay per registry request of the shards' latency case
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "baseline" {
		if err := runBaselineMain(ctx, os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench baseline:", err)
			os.Exit(1)
		}
		return
	}
	var c config
	fs := flag.NewFlagSet("regimport-bench", flag.ExitOnError)
	fs.StringVar(&c.bin, "regimport", "bin/regimport", "regimport binary")
	fs.IntVar(&c.tags, "tags", 1000, "tags in the import benchmark (at least 500)")
	fs.IntVar(&c.scale, "scale", 10, "memory check: also import scale×tags and compare peak memory")
	fs.IntVar(&c.repos, "repos", 20, "repositories the tags are spread over")
	fs.IntVar(&c.rounds, "rounds", 5, "measurements per figure; the median is reported")
	fs.IntVar(&c.concurrency, "concurrency", 16, "concurrency of both the importer and the baseline client")
	fs.StringVar(&c.out, "out", ".bench/latest.md", "Markdown report (also printed)")
	fs.BoolVar(&c.skipScale, "skip-scale", false, "skip the 10× memory run")
	fs.BoolVar(&c.skipEndpoint, "skip-endpoint", false, "skip the endpoint load test")
	fs.BoolVar(&c.skipReport, "skip-report", false, "skip the report benchmark")
	fs.BoolVar(&c.skipSoak, "skip-soak", false, "skip the soak test (import while serving)")
	fs.BoolVar(&c.skipPostgres, "skip-postgres", false, "skip the PostgreSQL and shards benchmarks (they need PostgreSQL's server: make test-deps installs it)")
	fs.IntVar(&c.soakTags, "soak-tags", 20000, "tags of the soak test")
	fs.StringVar(&c.profile, "profile", "", "write CPU and heap profiles of the 10× import into this directory")
	fs.StringVar(&c.only, "only", "", "run only this benchmark: import (the import, its re-run and, unless -skip-scale, the 10× memory run), signed (the import with signatures and its shared-repositories case), tokens (token auth), postgres (PostgreSQL against SQLite) or shards (3 shards against one process)")
	fs.StringVar(&c.pgURL, "pg", os.Getenv("REGIMPORT_BENCH_POSTGRES"), "URL of a PostgreSQL server for the postgres and shards benchmarks, which create and drop databases on it (default $REGIMPORT_BENCH_POSTGRES; else a throwaway cluster is started with -pg-cluster)")
	fs.StringVar(&c.pgCluster, "pg-cluster", "scripts/pg-cluster", "the script that starts and stops a throwaway PostgreSQL cluster")
	fs.DurationVar(&c.shardLatency, "shard-latency", 100*time.Millisecond, "delay per registry request in the shards benchmark's latency case (0 skips that case)")
	fs.BoolVar(&c.onlyTokens, "only-tokens", false, "the same as -only tokens")
	fs.Parse(os.Args[1:])
	if c.onlyTokens {
		c.only = "tokens"
	}
	if c.only != "" && c.out == ".bench/latest.md" {
		c.out = ".bench/" + c.only + ".md" // a partial run never replaces the full report
	}
	if err := run(ctx, c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config, out io.Writer) error {
	var err error
	if c.work, err = os.MkdirTemp("", "regimport-bench-"); err != nil {
		return err
	}
	defer os.RemoveAll(c.work)
	var report strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&report, "# regimport benchmark\n\n%s, %s, %d CPUs. Reproduce with `make bench`.\n\n", time.Now().UTC().Format(time.RFC3339), host, numCPU())

	switch c.only {
	case "", "import", "signed", "tokens", "postgres", "shards":
	default:
		return fmt.Errorf("-only %q: the choices are import, signed, tokens, postgres and shards", c.only)
	}
	if c.only == "" || c.only == "import" {
		imp, err := importBench(ctx, c, out)
		if err != nil {
			return err
		}
		report.WriteString(imp)
	}
	if c.only == "" || c.only == "signed" {
		signed, err := signedBench(ctx, c, out)
		if err != nil {
			return err
		}
		report.WriteString(signed)
	}
	if c.only == "" || c.only == "tokens" {
		tokens, err := tokenBench(ctx, c, out)
		if err != nil {
			return err
		}
		report.WriteString(tokens)
	}
	if (c.only == "" && !c.skipPostgres) || c.only == "postgres" || c.only == "shards" {
		section, err := postgresSections(ctx, c, out)
		if err != nil {
			return err
		}
		report.WriteString(section)
	}
	if c.only != "" {
		c.skipEndpoint, c.skipReport, c.skipSoak = true, true, true
	}
	if !c.skipEndpoint {
		report.WriteString(endpointBench(ctx, c, out))
	}
	if !c.skipReport {
		report.WriteString(reportBench(ctx, c, out))
	}
	if !c.skipSoak {
		soak, err := soakBench(ctx, c, out)
		if err != nil {
			return err
		}
		report.WriteString(soak)
	}
	fmt.Fprintln(out)
	fmt.Fprint(out, report.String())
	if err := os.MkdirAll(filepath.Dir(c.out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(c.out, []byte(report.String()), 0o644)
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return s[len(s)/2]
}
