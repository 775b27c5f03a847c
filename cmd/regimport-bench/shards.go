package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
)

// shardVariant is one way to import the whole registry: shards processes
// (`--shard I/N`, or one plain process when shards is 1) started together,
// each at concurrency, into one fresh catalog.
type shardVariant struct {
	label       string
	shards      int
	concurrency int
	postgres    bool
}

// shardResult is one measured variant in one round.
type shardResult struct {
	wall      time.Duration // first start to last exit
	cpu       time.Duration // regimport's user + system time, summed over the processes
	serverCPU time.Duration
	serverOK  bool
}

// shardStats are a variant's figures over the rounds.
type shardStats struct {
	rates, cpu, serverCPU []float64 // images/s; ms per image
	serverOK              bool
}

// runVariant imports the registry once the variant's way into db.
func runVariant(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, v shardVariant, db string) (shardResult, error) {
	cc := c
	cc.concurrency = v.concurrency
	var before time.Duration
	var children map[int]bool
	ok := false
	if v.postgres {
		before, children, ok = pg.cpu()
	}
	runs := make([]measuredRun, v.shards)
	errs := make([]error, v.shards)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range v.shards {
		var extra []string
		if v.shards > 1 {
			extra = []string{"--shard", fmt.Sprintf("%d/%d", i, v.shards)}
		}
		wg.Go(func() { runs[i], errs[i] = runImport(ctx, cc, reg.Registry, db, extra...) })
	}
	wg.Wait()
	res := shardResult{wall: time.Since(start)}
	for i := range runs {
		if errs[i] != nil {
			return res, fmt.Errorf("%s, shard %d: %w", v.label, i, errs[i])
		}
		res.cpu += runs[i].CPU
	}
	if v.postgres {
		after, ok2 := pg.cpuAfter(children)
		res.serverCPU, res.serverOK = after-before, ok && ok2
	}
	return res, nil
}

// shardCase measures variants against each other on the same registry
// for c.rounds rounds, rotating which goes first. Every catalog must hold
// the registry's images and tags and equal want, the first single-process
// catalog of the section.
func shardCase(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, name string, variants []shardVariant, want *catalogContents, out io.Writer) ([]shardStats, error) {
	stats := make([]shardStats, len(variants))
	for i := range stats {
		stats[i].serverOK = true
	}
	for round := 0; round < c.rounds; round++ {
		var line []string
		for k := range variants {
			i := (k + round) % len(variants)
			v := variants[i]
			var db string
			var err error
			if v.postgres {
				db, err = pg.newDatabase(ctx, fmt.Sprintf("bench_%s_%d_%d", name, i, round))
			} else {
				db = filepath.Join(c.work, fmt.Sprintf("shards-%s-%d-%d.db", name, i, round))
			}
			if err != nil {
				return nil, err
			}
			r, err := runVariant(ctx, c, pg, reg, v, db)
			if err != nil {
				return nil, err
			}
			if err := checkCatalog(db, reg.images, reg.tags); err != nil {
				return nil, fmt.Errorf("%s: %w", v.label, err)
			}
			got, err := readContents(db)
			if err != nil {
				return nil, err
			}
			if want.images == nil {
				*want = got
			} else if err := sameContents(*want, got); err != nil {
				return nil, fmt.Errorf("%s, round %d, against the first single-process catalog: %w", v.label, round+1, err)
			}
			s := &stats[i]
			s.rates = append(s.rates, float64(reg.images)/r.wall.Seconds())
			s.cpu = append(s.cpu, perImageMs(r.cpu, reg.images))
			s.serverCPU = append(s.serverCPU, perImageMs(r.serverCPU, reg.images))
			s.serverOK = s.serverOK && r.serverOK
			line = append(line, fmt.Sprintf("%s %.0f images/s", v.label, float64(reg.images)/r.wall.Seconds()))
		}
		fmt.Fprintf(out, "shards %s round %d: %s; every catalog checked and equal to the single run's\n", name, round+1, strings.Join(line, ", "))
	}
	return stats, nil
}

// shardShares is the share of the registry's images each of n shards
// imports: sharding is by repository, so the largest share bounds the
// speed-up.
func shardShares(reg *latencyRegistry, n int) []float64 {
	per := make([]int, n)
	for _, p := range reg.pushed {
		images, _ := testregistry.Count([]testregistry.Pushed{p})
		per[importer.ShardOf(reg.Host()+"/"+p.Repository, n)] += images
	}
	shares := make([]float64, n)
	for i, k := range per {
		shares[i] = float64(k) / float64(reg.images)
	}
	return shares
}

// shardsBench is the shards section: three shards started together
// against one process, on PostgreSQL and on SQLite with the registry
// answering at once, and on PostgreSQL with a fixed latency per registry
// request.
func shardsBench(ctx context.Context, c config, out io.Writer) (block, error) {
	return withPostgres(ctx, c, out, func(pg *pgServer, reg *latencyRegistry) (block, error) {
		return shardsCompare(ctx, c, pg, reg, out)
	})
}

func shardsCompare(ctx context.Context, c config, pg *pgServer, reg *latencyRegistry, out io.Writer) (block, error) {
	const n = 3
	C := c.concurrency
	var want catalogContents
	one := shardVariant{label: "1 process", shards: 1, concurrency: C, postgres: true}
	three := shardVariant{label: fmt.Sprintf("%d shards", n), shards: n, concurrency: C, postgres: true}
	pgStats, err := shardCase(ctx, c, pg, reg, "pg", []shardVariant{one, three}, &want, out)
	if err != nil {
		return block{}, err
	}
	sqOne, sqThree := one, three
	sqOne.postgres, sqThree.postgres = false, false
	sqStats, err := shardCase(ctx, c, pg, reg, "sqlite", []shardVariant{sqOne, sqThree}, &want, out)
	if err != nil {
		return block{}, err
	}
	var latStats []shardStats
	if c.shardLatency > 0 {
		wide := shardVariant{label: fmt.Sprintf("1 process at concurrency %d", n*C), shards: 1, concurrency: n * C, postgres: true}
		reg.delay.Store(int64(c.shardLatency))
		latStats, err = shardCase(ctx, c, pg, reg, "latency", []shardVariant{one, three, wide}, &want, out)
		reg.delay.Store(0)
		if err != nil {
			return block{}, err
		}
	}

	shares := shardShares(reg, n)
	var shareText []string
	for _, s := range shares {
		shareText = append(shareText, fmt.Sprintf("%.0f%%", 100*s))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d tags, %d images, %d repositories; every process at concurrency %d; %d rounds.\n\n", reg.tags, reg.images, c.repos, C, c.rounds)
	b.WriteString("| case | 1 process | 3 shards at once | 3 shards / 1 process, round by round |\n|---|---|---|---|\n")
	row := func(what string, a, s []float64, unit, format string) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", what, over(a).value(format+unit), over(s).value(format+unit), ratios(s, a).times())
	}
	row("PostgreSQL, registry answering at once: images/s (first start to last exit)", pgStats[0].rates, pgStats[1].rates, "", "%.0f")
	row("PostgreSQL: regimport's CPU per image (summed over the processes)", pgStats[0].cpu, pgStats[1].cpu, " ms", "%.3f")
	if pgStats[0].serverOK && pgStats[1].serverOK {
		row("PostgreSQL: the server's CPU per image", pgStats[0].serverCPU, pgStats[1].serverCPU, " ms", "%.3f")
	}
	row("SQLite, one file, registry answering at once: images/s", sqStats[0].rates, sqStats[1].rates, "", "%.0f")
	row("SQLite: regimport's CPU per image (summed)", sqStats[0].cpu, sqStats[1].cpu, " ms", "%.3f")
	if latStats != nil {
		lat := time.Duration(c.shardLatency)
		row(fmt.Sprintf("PostgreSQL, every registry request delayed %s: images/s", lat), latStats[0].rates, latStats[1].rates, "", "%.0f")
		fmt.Fprintf(&b, "| the same, control: one process at concurrency %d (as many requests in flight as the 3 shards) | %s | | %s the 1 process at %d |\n",
			n*C, over(latStats[2].rates).value("%.0f"), ratios(latStats[2].rates, latStats[0].rates).times(), C)
	}
	fmt.Fprintf(&b, "\nShards split by repository (FNV-1a of host/name, so the split depends on the registry's port): here the 3 shards hold %s of the images; the largest bounds the speed-up. ", strings.Join(shareText, ", "))
	b.WriteString("Each round imports the whole registry once each way into a fresh catalog (a new PostgreSQL database, or a new SQLite file), rotating which goes first; the shards are `regimport import --catalog --shard I/3` processes started together, timed from the first start to the last exit. " +
		"Every catalog is checked to hold every image and tag, and to hold exactly the images and tags (each tag on the same image) of the section's first single-process catalog. ")
	fmt.Fprintf(&b, "On this %d-CPU machine the registry, the database server and every regimport process share the same CPUs, so with a registry that answers at once the shards only divide the same CPU time: the figure shows what sharding costs, not what it gains. ", numCPU())
	if latStats != nil {
		fmt.Fprintf(&b, "The delayed case puts a fixed %s before every registry answer (a hand-written delay in front of the real registry, standing for a distant registry): each process keeps its own --concurrency %d, as each pod of an Indexed Job would, so 3 shards have 3 times the requests in flight; that is what a deployment across machines buys. The control row is one process given the same %d requests in flight: the part of the gain that one process could have by itself.", time.Duration(c.shardLatency), C, n*C)
	}
	b.WriteString("\n")
	return block{
		name:  "shards",
		title: "Three shards against one process",
		flags: fmt.Sprintf("-tags %d -rounds %d -concurrency %d -repos %d -shard-latency %s", c.tags, c.rounds, c.concurrency, c.repos, c.shardLatency),
		body:  b.String(),
	}, nil
}
