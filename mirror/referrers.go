package mirror

import (
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
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
		tag := registry.ReferrersTag(subject)
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
	if err := a.indexReferrers(ctx, c.Destination, subject, list.Items); err != nil {
		return len(list.Items), err
	}
	return len(list.Items), nil
}

// indexReferrers makes referrers copied from a registry with the referrers
// API findable at a destination without it: as clients do there, the
// referrers tag schema's index (tagged sha256-<hex>) lists them, with the
// entries it already had.
func (a *Applier) indexReferrers(ctx context.Context, destination string, subject digest.Digest, items []registry.Referrer) error {
	named, err := reference.ParseNormalizedNamed(destination)
	if err != nil {
		return err
	}
	repo, err := a.Registry.Repository(named)
	if err != nil {
		return err
	}
	have, err := a.referrers.Find(ctx, repo, repo.DigestSource(), subject)
	if err != nil {
		return fmt.Errorf("referrers of %s@%s at the destination: %w", destination, subject, err)
	}
	if have.Via == registry.ReferrersViaAPI {
		return nil // the destination lists them itself
	}
	idx := imgspecv1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: imgspecv1.MediaTypeImageIndex}
	known := map[digest.Digest]bool{}
	for _, r := range append(have.Items, items...) {
		if known[r.Digest] {
			continue
		}
		known[r.Digest] = true
		idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{MediaType: r.MediaType, Digest: r.Digest, Size: r.Size,
			ArtifactType: r.ArtifactType, Annotations: r.Annotations})
	}
	if len(idx.Manifests) == len(have.Items) {
		return nil
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	ref, err := docker.ParseReference("//" + destination + ":" + registry.ReferrersTag(subject))
	if err != nil {
		return err
	}
	dst, err := ref.NewImageDestination(ctx, a.Sys)
	if err != nil {
		return fmt.Errorf("referrers index at %s: %w", destination, err)
	}
	defer dst.Close()
	if err := dst.PutManifest(ctx, raw, nil); err != nil {
		return fmt.Errorf("referrers index at %s: %w", destination, err)
	}
	return dst.Commit(ctx, nil)
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
