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
	refs := make([]reference.Named, len(stored))
	perRepository := map[string]int{}
	for i, res := range stored {
		if ref, err := reference.ParseNormalizedNamed(res.reference); err == nil {
			refs[i] = ref
			perRepository[ref.Name()]++
		}
	}
	read := map[string]map[string]catalog.PullVerdict{}
	for repo, n := range perRepository {
		if !r.main.mostlyStored(repo, n) {
			continue
		}
		m, err := r.imp.cat.RepositoryPullVerdicts(ctx, repo)
		if err != nil {
			r.imp.log.Warn("pull verdicts not read for the whole repository; reading them one by one", "repository", repo, "error", err)
			continue
		}
		read[repo] = m
	}
	var out []PullBlock
	for i, res := range stored {
		ref := refs[i]
		if ref == nil {
			continue
		}
		v, why, err := pullVerdictIn(ctx, r.imp.cat, read[ref.Name()], ref.Name(), res.image)
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

// pullVerdictIn is image's pull verdict in repo: from read, the
// repository's verdicts read at once (RepositoryPullVerdicts), when it
// has the image, else read for the image alone.
func pullVerdictIn(ctx context.Context, cat catalog.Catalog, read map[string]catalog.PullVerdict, repo, image string) (catalog.Verdict, string, error) {
	if pv, ok := read[image]; ok {
		return pv.Verdict, pv.Reason, nil
	}
	return cat.PullVerdictOfImage(ctx, repo, image)
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
	return pullBlocks(ctx, cat, names, nil)
}

// pullVerdictOf is the pull verdict, in a repository, of a tag naming an
// image, in place of the catalog's when ok.
type pullVerdictOf func(ctx context.Context, repo, image string) (v catalog.Verdict, why string, ok bool, err error)

// pullBlocks is, for every tag the catalog holds now, its pull verdict
// (instead's where it gives one, else the catalog's), and returns those
// that block a pull, sorted by reference. names, when given, restricts it
// to tags naming one of those images or a list holding one; without, each
// repository's verdicts are read at once (RepositoryPullVerdicts), not
// one tag at a time. A verdict that cannot be read is an error.
func pullBlocks(ctx context.Context, cat catalog.Catalog, names []string, instead pullVerdictOf) ([]PullBlock, error) {
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
		var stored map[string]catalog.PullVerdict
		if only == nil {
			if stored, err = cat.RepositoryPullVerdicts(ctx, repo); err != nil {
				return nil, err
			}
		}
		for tag, image := range tags {
			if only != nil && !only[image] {
				continue
			}
			var v catalog.Verdict
			var why string
			ok := false
			if instead != nil {
				v, why, ok, err = instead(ctx, repo, image)
			}
			if !ok && err == nil {
				v, why, err = pullVerdictIn(ctx, cat, stored, repo, image)
			}
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
