package testregistry

import (
	"context"
	"fmt"
)

// PushRaw pushes blobs and then a manifest exactly as given under ref (a
// tag or a digest): for artifacts the generator does not make, such as
// cosign's signature attachments.
func (r *Registry) PushRaw(ctx context.Context, repo, ref, mediaType string, manifest []byte, blobs ...[]byte) error {
	for _, b := range blobs {
		if err := r.ensureBlob(ctx, repo, b); err != nil {
			return fmt.Errorf("push %s:%s: %w", repo, ref, err)
		}
	}
	if err := r.putManifest(ctx, repo, ref, mediaType, manifest); err != nil {
		return fmt.Errorf("push %s:%s: %w", repo, ref, err)
	}
	return nil
}
