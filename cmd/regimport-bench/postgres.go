package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// postgresSections runs the benchmarks that need a PostgreSQL server (the
// postgres and shards sections, or the one -only names) on one registry
// and one server, which it stops at the end.
func postgresSections(ctx context.Context, c config, out io.Writer) (string, error) {
	if c.tags < 500 {
		return "", fmt.Errorf("--tags %d: the benchmark needs at least 500", c.tags)
	}
	pg, err := startPG(ctx, c, out)
	if err != nil {
		return "", err
	}
	defer pg.close()
	reg, err := seedLatencyRegistry(ctx, c, out)
	if err != nil {
		return "", err
	}
	defer reg.Close()
	var b strings.Builder
	if c.only != "shards" {
		s, err := postgresBench(ctx, c, pg, reg, out)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	if c.only != "postgres" {
		s, err := shardsBench(ctx, c, pg, reg, out)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
	}
	return b.String(), nil
}

// pgImport is one import into PostgreSQL with the server's CPU for it.
type pgImport struct {
	importRun
	serverCPU time.Duration
	serverOK  bool
}

// importPG runs one `regimport import` into a PostgreSQL database and reads
// the server's CPU before and after it.
func importPG(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, db string, extra ...string) (pgImport, error) {
	before, children, ok := pg.cpu()
	r, err := runImport(ctx, c, reg.Registry, db, extra...)
	if err != nil {
		return pgImport{}, err
	}
	after, ok2 := pg.cpuAfter(children)
	return pgImport{importRun: r, serverCPU: after - before, serverOK: ok && ok2}, nil
}

// importBoth imports the registry into the SQLite file sqDB and the
// PostgreSQL database pgDB, one after the other, the order alternating by
// round, and checks that each catalog holds every image and tag.
func importBoth(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, round int, sqDB, pgDB string) (importRun, pgImport, string, error) {
	var sq importRun
	var p pgImport
	sqlite := func() error {
		var err error
		if sq, err = runImport(ctx, c, reg.Registry, sqDB); err != nil {
			return err
		}
		return checkCatalog(sqDB, reg.images, reg.tags)
	}
	postgres := func() error {
		var err error
		if p, err = importPG(ctx, c, pg, reg, pgDB); err != nil {
			return err
		}
		return checkCatalog(pgDB, reg.images, reg.tags)
	}
	order := "SQLite first"
	first, second := sqlite, postgres
	if round%2 == 1 {
		order, first, second = "PostgreSQL first", postgres, sqlite
	}
	if err := first(); err != nil {
		return sq, p, order, err
	}
	return sq, p, order, second()
}

// postgresBench imports the same registry cold into a fresh SQLite file
// and into a fresh PostgreSQL database, alternating which goes first, for
// c.rounds rounds; then re-runs both over the unchanged registry.
func postgresBench(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, out io.Writer) (string, error) {
	images, tags := reg.images, reg.tags
	var sqRates, pgRates, ratios, sqCPU, pgCPU, srvCPU []float64
	var sqPeak, pgPeak int64
	serverOK := true
	var sqDB, pgDB string
	for round := 0; round < c.rounds; round++ {
		sqDB = filepath.Join(c.work, fmt.Sprintf("pgbench-sqlite-%d.db", round))
		var err error
		if pgDB, err = pg.newDatabase(ctx, fmt.Sprintf("bench_import_%d", round)); err != nil {
			return "", err
		}
		sq, p, order, err := importBoth(ctx, c, pg, reg, round, sqDB, pgDB)
		if err != nil {
			return "", err
		}
		sqRate, pgRate := float64(images)/sq.took.Seconds(), float64(images)/p.took.Seconds()
		sqRates, pgRates, ratios = append(sqRates, sqRate), append(pgRates, pgRate), append(ratios, pgRate/sqRate)
		sqCPU, pgCPU = append(sqCPU, perImageMs(sq.cpu, images)), append(pgCPU, perImageMs(p.cpu, images))
		srvCPU = append(srvCPU, perImageMs(p.serverCPU, images))
		serverOK = serverOK && p.serverOK
		sqPeak, pgPeak = max(sqPeak, sq.peakKiB), max(pgPeak, p.peakKiB)
		server := "not measured"
		if p.serverOK {
			server = fmt.Sprintf("%.3f ms/image", perImageMs(p.serverCPU, images))
		}
		fmt.Fprintf(out, "postgres round %d (%s): SQLite %.0f images/s (%.3f ms CPU/image), PostgreSQL %.0f images/s (%.3f ms CPU/image, server %s); both catalogs checked: %d images, %d tags\n",
			round+1, order, sqRate, perImageMs(sq.cpu, images), pgRate, perImageMs(p.cpu, images), server, images, tags)
	}

	// Re-runs over the last cold catalogs: nothing changed in the registry.
	var sqRerun, pgRerun, rerunRatios []float64
	for round := 0; round < c.rounds; round++ {
		sq, p, _, err := importBoth(ctx, c, pg, reg, round, sqDB, pgDB)
		if err != nil {
			return "", fmt.Errorf("re-run: %w", err)
		}
		s, q := float64(tags)/sq.took.Seconds(), float64(tags)/p.took.Seconds()
		sqRerun, pgRerun, rerunRatios = append(sqRerun, s), append(pgRerun, q), append(rerunRatios, q/s)
	}
	fmt.Fprintf(out, "postgres re-runs: SQLite %.0f tags/s, PostgreSQL %.0f tags/s (medians)\n", median(sqRerun), median(pgRerun))

	var b strings.Builder
	fmt.Fprintf(&b, "## PostgreSQL against SQLite (%d tags, %d images, %d repositories; concurrency %d)\n\n", tags, images, c.repos, c.concurrency)
	b.WriteString("| figure | SQLite file | PostgreSQL database | PostgreSQL / SQLite |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| cold import, images/s (median of %d rounds) | %.0f | %.0f | **%.0f%%** (median of the per-round ratios); %.0f%% (ratio of the medians) |\n",
		c.rounds, median(sqRates), median(pgRates), 100*median(ratios), 100*median(pgRates)/median(sqRates))
	fmt.Fprintf(&b, "| regimport's CPU per image (user + system, rusage) | %.3f ms | %.3f ms | %.2f× |\n", median(sqCPU), median(pgCPU), median(pgCPU)/median(sqCPU))
	if serverOK {
		fmt.Fprintf(&b, "| PostgreSQL server's CPU per image (all its processes) | – | %.3f ms | |\n", median(srvCPU))
		fmt.Fprintf(&b, "| regimport + database server, CPU per image | %.3f ms | %.3f ms | %.2f× |\n",
			median(sqCPU), median(pgCPU)+median(srvCPU), (median(pgCPU)+median(srvCPU))/median(sqCPU))
	} else {
		b.WriteString("| PostgreSQL server's CPU per image | – | not measured (a server given with -pg) | |\n")
	}
	fmt.Fprintf(&b, "| peak memory of regimport (VmHWM, max over the rounds) | %d MiB | %d MiB | |\n", sqPeak/1024, pgPeak/1024)
	fmt.Fprintf(&b, "| re-run, nothing changed: tags/s (median of %d) | %.0f | %.0f | %.0f%% |\n\n",
		c.rounds, median(sqRerun), median(pgRerun), 100*median(rerunRatios))
	b.WriteString("Each round imports the whole registry (`regimport import --catalog`, one process each) into a new SQLite file and into a new database on the PostgreSQL server, alternating which goes first; every catalog is checked to hold every image and tag. " +
		"The server runs on this machine (fsync and synchronous_commit off, as `make test` runs it), so its CPU competes with regimport's and the registry's; its CPU is the sum of /proc/PID/stat times of the postmaster and its children across each import. " +
		"The re-runs import the unchanged registry again into the last round's catalogs.\n\n")
	return b.String(), nil
}
