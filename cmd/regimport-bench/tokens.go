package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
)

// tokenLatency is the token server's answer time in the token benchmark,
// about Docker Hub's.
const tokenLatency = 250 * time.Millisecond

// tokenBench imports 20 repositories (one tag each) from a token-auth
// registry twice per round: once with a token server that answers at once,
// once with one that takes tokenLatency. The difference, in token round
// trips, is what token fetches cost the run: the catalog scope, then the
// repository scopes as many at once as the importer lists repositories,
// not 21 one after another. Then a re-run counts the requests per
// unchanged tag through the token registry.
func tokenBench(ctx context.Context, c config, out io.Writer) (block, error) {
	const repos = 20
	var fast, slow []float64
	var rerun measuredRun
	var costs []float64 // per round: slow − fast, in token round trips
	for round := 0; round < c.rounds; round++ {
		latencies := []time.Duration{0, tokenLatency}
		if round%2 == 1 {
			latencies = []time.Duration{tokenLatency, 0} // take turns at going first
		}
		for _, latency := range latencies {
			front := regfront.New(regfront.Options{Token: true, TokenLatency: latency})
			reg, err := testregistry.Start(ctx, front.Option())
			if err != nil {
				front.Close()
				return block{}, err
			}
			for i := range repos {
				if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: fmt.Sprintf("bench/app%d", i), Tags: []string{"v1"},
					Format: testregistry.Schema2, Seed: int64(i + 1)}); err != nil {
					reg.Close()
					front.Close()
					return block{}, err
				}
			}
			db := filepath.Join(c.work, fmt.Sprintf("tokens-%d-%d.db", round, latency/time.Millisecond))
			r, err := runImport(ctx, c, reg, db)
			if err == nil && latency > 0 && round == c.rounds-1 {
				rerun, err = runImport(ctx, c, reg, db)
			}
			reg.Close()
			front.Close()
			if err != nil {
				return block{}, err
			}
			if latency == 0 {
				fast = append(fast, r.Wall.Seconds())
			} else {
				slow = append(slow, r.Wall.Seconds())
			}
			fmt.Fprintf(out, "tokens round %d: token server %s: import of %d repositories in %s\n", round+1, latency, repos, r.Wall.Round(time.Millisecond))
		}
	}
	for i := range fast {
		costs = append(costs, (slow[i]-fast[i])/tokenLatency.Seconds())
	}
	var b strings.Builder
	b.WriteString("| figure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| import, token server answers at once | %s |\n", over(fast).value("%.2f s"))
	fmt.Fprintf(&b, "| import, token server takes %s | %s |\n", tokenLatency, over(slow).value("%.2f s"))
	fmt.Fprintf(&b, "| cost of the slow token server, round by round, in token round trips | %s (the catalog scope, then the %d repository scopes %d at a time, as many as --concurrency lists at once; one after another would be %d) |\n",
		over(costs).value("%.1f"), repos, c.concurrency, repos+1)
	fmt.Fprintf(&b, "| re-run, nothing changed: registry requests per tag | %.3f (one HEAD per tag, plus one tag list per repository, the catalog and the ping) |\n", float64(rerun.requests)/repos)
	fmt.Fprintf(&b, "\n%d repositories of one tag each behind a token-auth front; each round imports them once with a token server that answers at once and once with one that takes %s, taking turns at going first, each import a measured process into a new SQLite file.\n", repos, tokenLatency)
	return block{
		name:  "tokens",
		title: "Token auth: what a slow token server costs",
		flags: fmt.Sprintf("-rounds %d -concurrency %d", c.rounds, c.concurrency),
		body:  b.String(),
	}, nil
}
