package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// sharedCase is the signed benchmark's case where 20% of the images are in
// two repositories: every fifth tag is copied, byte for byte, into
// mirror/<repository> and signed there for that repository too. An image in
// N repositories should cost one manifest and config fetch plus N
// signature lookups.
type sharedCase struct {
	reg       *testregistry.Registry
	pushed    []testregistry.Pushed
	sign      func(p testregistry.Pushed, identity string) error
	lookaside *atomic.Int64
	policy    string
	regd      string
}

func (s sharedCase) run(ctx context.Context, c config, dir string, out io.Writer) (string, error) {
	copied := 0
	var sharedImages int
	for i, p := range s.pushed {
		if i%5 != 0 {
			continue
		}
		mirror := "mirror/" + p.Repository
		if err := sigtest.CopyImage(ctx, s.reg, p, mirror, p.Tags[0]); err != nil {
			return "", err
		}
		if err := s.sign(inRepository(p, mirror), s.reg.Host()+"/"+mirror+":"+p.Tags[0]); err != nil {
			return "", err
		}
		n, _ := testregistry.Count([]testregistry.Pushed{p})
		sharedImages += n
		copied++
	}
	images, tags := testregistry.Count(s.pushed)
	pairs := images + sharedImages
	var runs []measuredRun
	var reqs testregistry.RequestCounts
	var lookaside int64
	var m []string
	for round := range c.rounds {
		db := filepath.Join(dir, fmt.Sprintf("shared-%d.db", round))
		s.lookaside.Store(0)
		var stdout strings.Builder
		r, err := runImportCapture(ctx, c, s.reg, db, &stdout, "--policy", s.policy, "--registries.d", s.regd)
		if err != nil {
			return "", err
		}
		reqs, lookaside = s.reg.Requests(), s.lookaside.Load()
		m = regexp.MustCompile(`pairs: (\d+) accepted, (\d+) rejected, (\d+) unevaluated`).FindStringSubmatch(stdout.String())
		if m == nil {
			return "", fmt.Errorf("shared import printed no signature summary:\n%s", stdout.String())
		}
		runs = append(runs, r)
		fmt.Fprintf(out, "signed, 20%% in two repositories, round %d: %s accepted, %s rejected, %s unevaluated of %d pairs in %s\n", round+1, m[1], m[2], m[3], pairs, r.Wall.Round(time.Millisecond))
	}
	rate := func(n int) []float64 {
		return field(runs, func(r measuredRun) float64 { return float64(n) / r.Wall.Seconds() })
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#### The same, with a fifth of the images in two repositories (%d of %d tags copied to mirror/..., signed there too: %d images, %d (repository, image) pairs)\n\n",
		copied, tags, images, pairs)
	b.WriteString("| figure | value | expected |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| images/s (distinct images), %d rounds | %s | |\n", len(runs), over(rate(images)).value("%.0f"))
	fmt.Fprintf(&b, "| (repository, image) pairs/s | %s | |\n", over(rate(pairs)).value("%.0f"))
	fmt.Fprintf(&b, "| manifest GETs (last round) | %d | %d: one per tag in each repository, plus each list entry once |\n",
		reqs.Get(testregistry.KindManifestGet), tags+copied+images-tags)
	fmt.Fprintf(&b, "| blob GETs (configs) | %d | at most %d: each config once, whatever the repositories |\n", reqs.Get(testregistry.KindBlobGet), images)
	fmt.Fprintf(&b, "| lookaside requests per pair | %.3f | 2 (signature-1, then the 404 that ends the list) |\n", float64(lookaside)/float64(pairs))
	fmt.Fprintf(&b, "| accepted / rejected / unevaluated | %s / %s / %s | %d / 0 / 0 |\n\n", m[1], m[2], m[3], pairs)
	return b.String(), nil
}

// inRepository is p as copied into repo (its children too).
func inRepository(p testregistry.Pushed, repo string) testregistry.Pushed {
	p.Repository = repo
	children := make([]testregistry.Pushed, len(p.Children))
	for i, ch := range p.Children {
		children[i] = inRepository(ch, repo)
	}
	p.Children = children
	return p
}
