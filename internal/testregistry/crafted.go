package testregistry

import (
	"context"
	"encoding/json"
	"fmt"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushCraftedIndex pushes, as repo:tag, an OCI index of two children whose
// second child's config.digest is the first child's manifest digest: a
// registry accepts it, because the manifest's bytes can be uploaded as a
// blob too. Importers that keep manifests and configs by digest in one
// place read one as the other. It returns the first child as pushed.
func (r *Registry) PushCraftedIndex(ctx context.Context, repo, tag string, seed int64) (Pushed, error) {
	first, err := r.Push(ctx, ImageSpec{Repository: repo, Format: OCI, Seed: seed})
	if err != nil {
		return Pushed{}, err
	}
	var m imgspecv1.Manifest
	if err := json.Unmarshal(first.Manifest, &m); err != nil {
		return Pushed{}, fmt.Errorf("crafted index: %w", err)
	}
	m.Config = imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageConfig, Digest: first.Digest, Size: int64(len(first.Manifest))}
	second, err := json.Marshal(m)
	if err != nil {
		return Pushed{}, err
	}
	if err := r.PushRaw(ctx, repo, digest.FromBytes(second).String(), imgspecv1.MediaTypeImageManifest, second, first.Manifest); err != nil {
		return Pushed{}, err
	}
	index, err := json.Marshal(imgspecv1.Index{Versioned: m.Versioned, MediaType: imgspecv1.MediaTypeImageIndex, Manifests: []imgspecv1.Descriptor{
		{MediaType: imgspecv1.MediaTypeImageManifest, Digest: first.Digest, Size: int64(len(first.Manifest)), Platform: &imgspecv1.Platform{OS: "linux", Architecture: "amd64"}},
		{MediaType: imgspecv1.MediaTypeImageManifest, Digest: digest.FromBytes(second), Size: int64(len(second)), Platform: &imgspecv1.Platform{OS: "linux", Architecture: "arm64"}},
	}})
	if err != nil {
		return Pushed{}, err
	}
	return first, r.PushRaw(ctx, repo, tag, imgspecv1.MediaTypeImageIndex, index)
}
