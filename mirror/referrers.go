package mirror

import (
	"context"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/signature"
)

// copyReferrers copies the OCI 1.1 referrers of one manifest (signature
// bundles, notation signatures, attestations): containers/image copies an
// image's simple signatures and sigstore attachments, not its referrers.
// Each is copied by digest, so its subject still names the copied image.
// Where the source keeps them under the referrers tag schema (an index
// tagged sha256-<hex>), that index is copied with every entry, so a
// destination without the referrers API finds them the same way.
func (a *Applier) copyReferrers(ctx context.Context, policy *signature.PolicyContext, c Copy, subject digest.Digest) (int, error) {
	named, err := reference.ParseNormalizedNamed(c.Source)
	if err != nil {
		return 0, err
	}
	repo, err := a.Registry.Repository(named)
	if err != nil {
		return 0, err
	}
	list, err := a.referrers.Find(ctx, repo, repo.DigestSource(), subject)
	if err != nil {
		return 0, fmt.Errorf("referrers of %s@%s: %w", c.Source, subject, err)
	}
	if len(list.Items) == 0 {
		return 0, nil
	}
	if list.Beyond > 0 {
		a.Logger.Warn("more referrers than the cap; the rest are not copied", "source", c.Source, "subject", subject, "beyond", list.Beyond)
	}
	if list.Via == registry.ReferrersViaTag {
		tag := strings.Replace(subject.String(), ":", "-", 1)
		if err := a.copyRef(ctx, policy, c.Source+":"+tag, c.Destination+":"+tag, copy.CopyAllImages); err != nil {
			return 0, fmt.Errorf("referrers index %s:%s: %w", c.Source, tag, err)
		}
		return len(list.Items), nil
	}
	for _, r := range list.Items {
		if err := a.copyRef(ctx, policy, c.Source+"@"+r.Digest.String(), c.Destination+"@"+r.Digest.String(), copy.CopySystemImage); err != nil {
			return 0, fmt.Errorf("referrer %s (%s): %w", r.Digest, r.ArtifactType, err)
		}
	}
	return len(list.Items), nil
}

func (a *Applier) copyRef(ctx context.Context, policy *signature.PolicyContext, from, to string, sel copy.ImageListSelection) error {
	src, err := docker.ParseReference("//" + from)
	if err != nil {
		return err
	}
	dst, err := docker.ParseReference("//" + to)
	if err != nil {
		return err
	}
	return a.retry(ctx, func() error {
		_, err := copy.Image(ctx, policy, dst, src, a.copyOptions(sel))
		return err
	})
}
