package importer

import (
	"encoding/json"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
)

// imageConfigTypes are the config media types of runnable images (schema1
// has no config: "").
var imageConfigTypes = map[string]bool{
	"": true, imgspecv1.MediaTypeImageConfig: true, "application/vnd.docker.container.image.v1+json": true,
}

// ArtifactTypeOf classifies a single manifest: "" for a runnable image, else
// the artifact's type: its artifactType (OCI 1.1), else its config media
// type. A manifest is an artifact when its config is not an image config
// (Helm charts: application/vnd.cncf.helm.config.v1+json; WASM modules,
// Flux artifacts, SBOM documents; OCI 1.1 artifacts with the empty config).
// An artifactType beside a real image config leaves it an image: a
// runtime can run it.
func ArtifactTypeOf(raw []byte, configMediaType string) string {
	if imageConfigTypes[configMediaType] {
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
