package catalog

import (
	"context"
	"fmt"
)

// AnnotationArtifactType is set on the Image of an OCI artifact (a Helm
// chart, a WASM module, ...): its artifactType, else its config media type.
const AnnotationArtifactType = "regimport.io/artifact-type"

// putArtifactType records that an image is an artifact, not a runnable image.
func (c *Catalog) putArtifactType(ctx context.Context, tx *batchTx, image, artifactType string) error {
	if artifactType == "" {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO image_artifacts (image_name, artifact_type) VALUES ($1, $2)`, image, artifactType); err != nil {
		return fmt.Errorf("store artifact type of %s: %w", image, err)
	}
	return nil
}

// isArtifact is the SQL test that image (an SQL expression) is an artifact.
func isArtifact(image string) string {
	return `EXISTS (SELECT 1 FROM image_artifacts WHERE image_name = ` + image + `)`
}
