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
func tokenBench(ctx context.Context, c config, out io.Writer) (string, error) {
	const repos = 20
	var fast, slow []float64
	var rerun importRun
	for round := 0; round < c.rounds; round++ {
		for _, latency := range []time.Duration{0, tokenLatency} {
			front := regfront.New(regfront.Options{Token: true, TokenLatency: latency})
			reg, err := testregistry.Start(ctx, front.Option())
			if err != nil {
				front.Close()
				return "", err
			}
			for i := range repos {
				if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: fmt.Sprintf("bench/app%d", i), Tags: []string{"v1"},
					Format: testregistry.Schema2, Seed: int64(i + 1)}); err != nil {
					reg.Close()
					front.Close()
					return "", err
				}
			}
			db := filepath.Join(c.work, fmt.Sprintf("tokens-%d-%d.db", round, latency/time.Millisecond))
			r, err := runImport(ctx, c, reg, db)
			if err == nil && latency > 0 && round == 0 {
				rerun, err = runImport(ctx, c, reg, db)
			}
			reg.Close()
			front.Close()
			if err != nil {
				return "", err
			}
			if latency == 0 {
				fast = append(fast, r.took.Seconds())
			} else {
				slow = append(slow, r.took.Seconds())
			}
			fmt.Fprintf(out, "tokens round %d: token server %s: import of %d repositories in %s\n", round+1, latency, repos, r.took.Round(time.Millisecond))
		}
	}
	extra := time.Duration((median(slow) - median(fast)) * float64(time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Token auth (%d repositories, one tag each, on a token registry; median of %d)\n\n", repos, c.rounds)
	b.WriteString("| figure | value |\n|---|---|\n")
	fmt.Fprintf(&b, "| import, token server answers at once | %.2fs |\n", median(fast))
	fmt.Fprintf(&b, "| import, token server takes %s | %.2fs |\n", tokenLatency, median(slow))
	fmt.Fprintf(&b, "| cost of the slow token server | %s = %.1f token round trips (the catalog scope, then the %d repository scopes %d at a time, as many as --concurrency lists at once; one after another: %d) |\n",
		extra.Round(time.Millisecond), extra.Seconds()/tokenLatency.Seconds(), repos, c.concurrency, repos+1)
	fmt.Fprintf(&b, "| re-run, nothing changed: registry requests per tag | %.3f (one HEAD per tag, plus one tag list per repository, the catalog and the ping) |\n", float64(rerun.requests)/repos)
	return b.String(), nil
}
