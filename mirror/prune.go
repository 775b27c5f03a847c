package mirror

import (
	"context"
	"fmt"
	"strings"

	"github.com/regimport/regimport/catalog"
	"go.podman.io/image/v5/docker"
)

// deleteTag deletes a tag the source removed, only while the destination's
// tag still points at the digest the source's had: a tag someone moved
// at the destination since is left alone. false: nothing to do (the
// destination has no such tag).
func (a *Applier) deleteTag(ctx context.Context, d Deletion) (Outcome, bool) {
	o := Outcome{Source: d.Source, Tag: d.Tag, Digest: d.Digest, Destination: d.Destination + ":" + d.Tag}
	have, err := a.destinationDigest(ctx, d.Destination, d.Tag)
	if err != nil {
		o.Action, o.Reason = catalog.MirrorFailed, fmt.Sprintf("delete: HEAD at the destination: %v", err)
		return o, true
	}
	if have == "" {
		return o, false
	}
	if have.String() != d.Digest {
		a.Logger.Warn("not deleting: the destination's tag points at another digest than the one removed upstream",
			"destination", o.Destination, "has", have, "removed", d.Digest)
		return o, false
	}
	if len(d.StillTagged) > 0 {
		o.Action, o.Reason = catalog.MirrorFailed, fmt.Sprintf("not deleted: %s is still tagged %s at the source, and a registry deletes a manifest by digest with every tag on it",
			d.Digest, strings.Join(d.StillTagged, ", "))
		return o, true
	}
	if a.DryRun {
		o.Action = WouldDelete
		return o, true
	}
	ref, err := docker.ParseReference("//" + d.Destination + "@" + d.Digest)
	if err == nil {
		err = ref.DeleteImage(ctx, a.Sys)
	}
	if err != nil {
		o.Action, o.Reason = catalog.MirrorFailed, fmt.Sprintf("delete: %v", err)
		return o, true
	}
	o.Action = catalog.MirrorDeleted
	return o, true
}
