package importer

import (
	"encoding/json"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
)

// isImageConfig reports whether a config media type is a runnable image's
// (schema1 has no config: "").
func isImageConfig(mediaType string) bool {
	switch mediaType {
	case "", imgspecv1.MediaTypeImageConfig, "application/vnd.docker.container.image.v1+json":
		return true
	}
	return false
}

// ArtifactTypeOf classifies a single manifest: "" for a runnable image, else
// the artifact's type: its artifactType (OCI 1.1), else its config media
// type. A manifest is an artifact when its config is not an image config
// (Helm charts: application/vnd.cncf.helm.config.v1+json; WASM modules,
// Flux artifacts, SBOM documents; OCI 1.1 artifacts with the empty config).
// An artifactType beside a real image config leaves it an image: a
// runtime can run it.
func ArtifactTypeOf(raw []byte, configMediaType string) string {
	if isImageConfig(configMediaType) {
		return ""
	}
	var m struct {
		ArtifactType string `json:"artifactType"`
	}
	if err := json.Unmarshal(raw, &m); err == nil && m.ArtifactType != "" {
		return m.ArtifactType
	}
	return configMediaType
}

// markArtifact records an artifact's type on its record and its Image.
func markArtifact(rec *catalog.ImageRecord, img *imagev1.Image, artifactType string) {
	if artifactType == "" {
		return
	}
	rec.ArtifactType = artifactType
	if img.Annotations == nil {
		img.Annotations = map[string]string{}
	}
	img.Annotations[catalog.AnnotationArtifactType] = artifactType
}
