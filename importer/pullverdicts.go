package importer

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/regimport/regimport/catalog"
	"go.podman.io/image/v5/docker/reference"
)

// PullBlock is a tag (or digest) of the run whose pull verdict, as
// containers/image would decide it for a node pulling it (catalog's
// pullverdict.go), is rejected or partial: the reason for exit code 4.
type PullBlock struct {
	Reference string
	Verdict   catalog.Verdict
	Reason    string
}

// blockedPulls reads, once the run's writes are committed, the pull verdict
// of every reference the run stored, and returns those that block a pull.
// A verdict that cannot be read is logged and skipped: it blocks nothing
// it has not proven.
func (r *run) blockedPulls(ctx context.Context, stored []storedRef) []PullBlock {
	if !r.imp.sigs.enabled() {
		return nil
	}
	var out []PullBlock
	for _, res := range stored {
		ref, err := reference.ParseNormalizedNamed(res.reference)
		if err != nil {
			continue
		}
		v, why, err := r.imp.cat.PullVerdictOfImage(ctx, ref.Name(), res.image)
		if err != nil {
			r.imp.log.Warn("pull verdict not read", "reference", res.reference, "error", err)
			continue
		}
		if catalog.PullBlocks(v) {
			out = append(out, PullBlock{Reference: strings.TrimSpace(res.reference), Verdict: v, Reason: why})
		}
	}
	return out
}

// storedRef is a reference the run stored and the image it named.
type storedRef struct{ reference, image string }

// CurrentPullBlocks reads the pull verdict of every tag the catalog holds
// now, for `regimport verify` after it has written its verdicts, and
// returns those that block a pull, sorted by reference. names, when
// given, restricts it to tags naming one of those images or a list
// holding one. Unlike a run's, a verdict that cannot be read is an error:
// verify's exit code would otherwise say nothing blocks.
func CurrentPullBlocks(ctx context.Context, cat catalog.Catalog, names []string) ([]PullBlock, error) {
	return pullBlocks(ctx, cat, names, cat.PullVerdictOfImage)
}

// pullVerdictOf is the pull verdict, in a repository, of a tag naming an
// image.
type pullVerdictOf func(ctx context.Context, repo, image string) (catalog.Verdict, string, error)

// pullBlocks is, for every tag the catalog holds now, its pull verdict by
// verdictOf, and returns those that block a pull, sorted by reference.
// names, when given, restricts it to tags naming one of those images or a
// list holding one. A verdict that cannot be read is an error.
func pullBlocks(ctx context.Context, cat catalog.Catalog, names []string, verdictOf pullVerdictOf) ([]PullBlock, error) {
	var only map[string]bool
	if len(names) > 0 {
		only = map[string]bool{}
		for _, n := range names {
			only[n] = true
			lists, err := cat.ListsContaining(ctx, n)
			if err != nil {
				return nil, fmt.Errorf("lists holding %s: %w", n, err)
			}
			for _, l := range lists {
				only[l] = true
			}
		}
	}
	repos, err := cat.KnownRepositories(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []PullBlock
	for _, repo := range repos {
		tags, err := cat.CurrentTags(ctx, repo)
		if err != nil {
			return nil, err
		}
		for tag, image := range tags {
			if only != nil && !only[image] {
				continue
			}
			v, why, err := verdictOf(ctx, repo, image)
			if err != nil {
				return nil, fmt.Errorf("pull verdict of %s:%s: %w", repo, tag, err)
			}
			if catalog.PullBlocks(v) {
				out = append(out, PullBlock{Reference: repo + ":" + tag, Verdict: v, Reason: why})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reference < out[j].Reference })
	return out, nil
}
