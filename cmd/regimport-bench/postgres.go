package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"
)

// withPostgres runs fn with a PostgreSQL server (started with
// scripts/pg-cluster, or the one -pg gives) and a registry seeded with
// -tags mixed tags, and stops both after it.
func withPostgres(ctx context.Context, c config, out io.Writer, fn func(pg *pgServer, reg *latencyRegistry) (block, error)) (block, error) {
	pg, err := startPG(ctx, c, out)
	if err != nil {
		return block{}, err
	}
	defer pg.close()
	reg, err := seedLatencyRegistry(ctx, c, out)
	if err != nil {
		return block{}, err
	}
	defer reg.Close()
	return fn(pg, reg)
}

// postgresBench is the postgres section: the same cold import into SQLite
// and into PostgreSQL, then the re-runs.
func postgresBench(ctx context.Context, c config, out io.Writer) (block, error) {
	return withPostgres(ctx, c, out, func(pg *pgServer, reg *latencyRegistry) (block, error) {
		return postgresCompare(ctx, c, pg, reg, out)
	})
}

// pgImport is one import into PostgreSQL with the server's CPU for it.
type pgImport struct {
	measuredRun
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
	return pgImport{measuredRun: r, serverCPU: after - before, serverOK: ok && ok2}, nil
}

// importBoth imports the registry into the SQLite file sqDB and the
// PostgreSQL database pgDB, one after the other, the order alternating by
// round, and checks that each catalog holds every image and tag.
func importBoth(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, round int, sqDB, pgDB string) (measuredRun, pgImport, string, error) {
	var sq measuredRun
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

// postgresCompare imports the same registry cold into a fresh SQLite file
// and into a fresh PostgreSQL database, alternating which goes first, for
// c.rounds rounds; then re-runs both over the unchanged registry.
func postgresCompare(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, out io.Writer) (block, error) {
	images, tags := reg.images, reg.tags
	var sqRates, pgRates, sqCPU, pgCPU, srvCPU []float64
	var sqPeak, pgPeak int64
	serverOK := true
	var sqDB, pgDB string
	for round := 0; round < c.rounds; round++ {
		sqDB = filepath.Join(c.work, fmt.Sprintf("pgbench-sqlite-%d.db", round))
		var err error
		if pgDB, err = pg.newDatabase(ctx, fmt.Sprintf("bench_import_%d", round)); err != nil {
			return block{}, err
		}
		sq, p, order, err := importBoth(ctx, c, pg, reg, round, sqDB, pgDB)
		if err != nil {
			return block{}, err
		}
		sqRate, pgRate := float64(images)/sq.Wall.Seconds(), float64(images)/p.Wall.Seconds()
		sqRates, pgRates = append(sqRates, sqRate), append(pgRates, pgRate)
		sqCPU, pgCPU = append(sqCPU, perImageMs(sq.CPU, images)), append(pgCPU, perImageMs(p.CPU, images))
		srvCPU = append(srvCPU, perImageMs(p.serverCPU, images))
		serverOK = serverOK && p.serverOK
		sqPeak, pgPeak = max(sqPeak, sq.PeakKiB), max(pgPeak, p.PeakKiB)
		server := "not measured"
		if p.serverOK {
			server = fmt.Sprintf("%.3f ms/image", perImageMs(p.serverCPU, images))
		}
		fmt.Fprintf(out, "postgres round %d (%s): SQLite %.0f images/s (%.3f ms CPU/image), PostgreSQL %.0f images/s (%.3f ms CPU/image, server %s); both catalogs checked: %d images, %d tags\n",
			round+1, order, sqRate, perImageMs(sq.CPU, images), pgRate, perImageMs(p.CPU, images), server, images, tags)
	}

	// Re-runs over the last cold catalogs: nothing changed in the registry.
	var sqRerun, pgRerun []float64
	for round := 0; round < c.rounds; round++ {
		sq, p, _, err := importBoth(ctx, c, pg, reg, round, sqDB, pgDB)
		if err != nil {
			return block{}, fmt.Errorf("re-run: %w", err)
		}
		s, q := float64(tags)/sq.Wall.Seconds(), float64(tags)/p.Wall.Seconds()
		sqRerun, pgRerun = append(sqRerun, s), append(pgRerun, q)
	}
	fmt.Fprintf(out, "postgres re-runs: SQLite %.0f tags/s, PostgreSQL %.0f tags/s (medians)\n", median(sqRerun), median(pgRerun))

	var b strings.Builder
	b.WriteString("| figure | SQLite file | PostgreSQL database | PostgreSQL / SQLite, round by round |\n|---|---|---|---|\n")
	fmt.Fprintf(&b, "| cold import, images/s | %s | %s | speed **%s** |\n",
		over(sqRates).value("%.0f"), over(pgRates).value("%.0f"), ratios(pgRates, sqRates).percent())
	fmt.Fprintf(&b, "| regimport's CPU per image (user + system) | %s | %s | %s |\n", over(sqCPU).value("%.3f ms"), over(pgCPU).value("%.3f ms"), ratios(pgCPU, sqCPU).times())
	if serverOK {
		both := make([]float64, len(pgCPU))
		for i := range pgCPU {
			both[i] = pgCPU[i] + srvCPU[i]
		}
		fmt.Fprintf(&b, "| PostgreSQL server's CPU per image (all its processes) | – | %s | |\n", over(srvCPU).value("%.3f ms"))
		fmt.Fprintf(&b, "| regimport + database server, CPU per image | %s | %s | %s |\n", over(sqCPU).value("%.3f ms"), over(both).value("%.3f ms"), ratios(both, sqCPU).times())
	} else {
		b.WriteString("| PostgreSQL server's CPU per image | – | not measured (a server given with -pg) | |\n")
	}
	fmt.Fprintf(&b, "| peak memory of regimport (maxrss, highest over the rounds) | %d MiB | %d MiB | |\n", sqPeak/1024, pgPeak/1024)
	fmt.Fprintf(&b, "| re-run, nothing changed: tags/s | %s | %s | speed %s |\n\n",
		over(sqRerun).value("%.0f"), over(pgRerun).value("%.0f"), ratios(pgRerun, sqRerun).percent())
	b.WriteString("Each round imports the whole registry (`regimport import --catalog`, one process each) into a new SQLite file and into a new database on the PostgreSQL server, alternating which goes first; every catalog is checked to hold every image and tag. " +
		"The server runs on this machine (fsync and synchronous_commit off, as `make test` runs it), so its CPU competes with regimport's and the registry's; its CPU is the sum of /proc/PID/stat times of the postmaster and its children across each import. " +
		"The re-runs import the unchanged registry again into the last round's catalogs. Each figure is the median over the rounds, the lowest and highest in brackets.\n")
	return block{
		name:  "postgres",
		title: "PostgreSQL against SQLite: the same import into each",
		flags: fmt.Sprintf("-tags %d -rounds %d -concurrency %d -repos %d", c.tags, c.rounds, c.concurrency, c.repos),
		body:  b.String(),
	}, nil
}
