package importer

import (
	"context"
	"fmt"
	"strings"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/signatures"
)

// VerdictPreview is what re-verification under another policy would make
// of one (repository, image) pair, without writing it: the stored verdict
// (From) beside the policy's (To).
type VerdictPreview struct {
	Repository, Image string
	// Tags are the repository's tags naming the image, or a list holding it.
	Tags       []string
	From       catalog.Verdict // "" when the pair was never evaluated
	FromReason string
	To         catalog.Verdict
	Reason     string
	Err        error
}

// Changed reports whether the pair's verdict would change.
func (p VerdictPreview) Changed() bool { return p.Err == nil && p.From != p.To }

// PreviewVerify is Reverify without writing: it evaluates every pair
// Reverify would, offline, against the verifier's policy and the
// signatures stored for that repository, and calls each once per pair
// with its stored and would-be verdicts, in the order Reverify walks them.
// It then returns the current tags a node could not pull (wholly or on
// some platforms) were those verdicts stored: what CurrentPullBlocks would
// return after `regimport verify` under that policy. It only reads the
// catalog, which may be opened read-only.
func PreviewVerify(ctx context.Context, cat catalog.Catalog, v *signatures.Verifier, names []string, each func(VerdictPreview)) ([]PullBlock, error) {
	// would holds the pairs whose stored verdict or reason would differ:
	// the only ones whose pull verdicts can differ from what is stored.
	would := map[previewKey]VerdictPreview{}
	afterImage, afterRepo := "", ""
	for {
		page, err := cat.ReferencingPairs(ctx, afterImage, afterRepo, names, 500)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			pv := previewPair(ctx, cat, v, p.Repository, p.Image)
			if pv.Err == nil && (pv.From != pv.To || pv.FromReason != pv.Reason) {
				would[previewKey{pv.Repository, pv.Image}] = pv
			}
			each(pv)
		}
		if len(page) < 500 {
			break
		}
		afterImage, afterRepo = page[len(page)-1].Image, page[len(page)-1].Repository
	}
	return previewPullBlocks(ctx, cat, names, would)
}

type previewKey struct{ repository, image string }

// previewPair evaluates one pair as reverifyPair does and reads what is stored of it.
func previewPair(ctx context.Context, cat catalog.Catalog, v *signatures.Verifier, repo, name string) VerdictPreview {
	pv := VerdictPreview{Repository: repo, Image: name}
	stored, err := cat.Verdicts(ctx, name)
	if err != nil {
		pv.Err = err
		return pv
	}
	for _, s := range stored {
		if s.Repository == repo {
			pv.From, pv.FromReason = s.Verdict, s.Reason
		}
	}
	if pv.Tags, err = cat.TagsOfImageIn(ctx, repo, name); err != nil {
		pv.Err = err
		return pv
	}
	res, _ := reverifyPair(ctx, cat, v, repo, name)
	pv.To, pv.Reason, pv.Err = catalog.Verdict(res.Verdict), res.Reason, res.Err
	return pv
}

// previewPullBlocks is CurrentPullBlocks over the catalog with the
// verdicts of would in place of those stored. A tag whose image and
// instances would keep their verdicts keeps its stored pull verdict.
func previewPullBlocks(ctx context.Context, cat catalog.Catalog, names []string, would map[previewKey]VerdictPreview) ([]PullBlock, error) {
	// The lists holding a pair that would change, per repository: their
	// tags' pull verdicts are recomputed too.
	affected := map[previewKey]bool{}
	for k := range would {
		affected[k] = true
		lists, err := cat.ListsContaining(ctx, k.image)
		if err != nil {
			return nil, fmt.Errorf("lists holding %s: %w", k.image, err)
		}
		for _, l := range lists {
			affected[previewKey{k.repository, l}] = true
		}
	}
	return pullBlocks(ctx, cat, names, func(ctx context.Context, repo, image string) (catalog.Verdict, string, bool, error) {
		if !affected[previewKey{repo, image}] {
			return "", "", false, nil
		}
		v, why, err := previewPullVerdict(ctx, cat, repo, image, would)
		return v, why, true, err
	})
}

// previewPullVerdict is the pull verdict, in repo, of a tag naming image
// with the verdicts of would in place: catalog.PullVerdictOf over the
// image's own verdict and, for a list, its instances' in list order, as
// the catalog's query packs them.
func previewPullVerdict(ctx context.Context, cat catalog.Catalog, repo, image string, would map[previewKey]VerdictPreview) (catalog.Verdict, string, error) {
	img, err := cat.GetImage(ctx, image)
	if err != nil {
		return "", "", err
	}
	if _, artifact := img.Annotations[catalog.AnnotationArtifactType]; artifact {
		return "", "", nil // an artifact is not pulled to run: no pull verdict
	}
	verdictOf := func(name string) (catalog.Verdict, string, error) {
		if pv, ok := would[previewKey{repo, name}]; ok {
			return pv.To, pv.Reason, nil
		}
		stored, err := cat.Verdicts(ctx, name)
		if err != nil {
			return "", "", err
		}
		for _, s := range stored {
			if s.Repository == repo {
				return s.Verdict, s.Reason, nil
			}
		}
		return "", "", nil
	}
	own, reason, err := verdictOf(image)
	if err != nil {
		return "", "", err
	}
	var packed []string
	for _, m := range img.DockerImageManifests {
		v, _, err := verdictOf(m.Digest)
		if err != nil {
			return "", "", err
		}
		platform := catalog.Platform{OS: m.OS, Architecture: m.Architecture, Variant: m.Variant}
		packed = append(packed, string(v)+catalog.PackedUnitSep+platform.String())
	}
	v, why := catalog.PullVerdictOf(own, reason, strings.Join(packed, catalog.PackedRecordSep))
	return v, why, nil
}
