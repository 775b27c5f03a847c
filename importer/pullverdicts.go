package importer

import (
	"context"
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
