package importer_test

import (
	"testing"

	"github.com/regimport/regimport/importer"
)

func TestArtifactTypeOf(t *testing.T) {
	for _, c := range []struct{ name, manifest, config, want string }{
		{"docker image", `{}`, "application/vnd.docker.container.image.v1+json", ""},
		{"OCI image", `{}`, "application/vnd.oci.image.config.v1+json", ""},
		{"schema1", `{}`, "", ""},
		{"OCI image with an artifactType", `{"artifactType":"application/x-thing"}`, "application/vnd.oci.image.config.v1+json", ""},
		{"Helm chart", `{}`, "application/vnd.cncf.helm.config.v1+json", "application/vnd.cncf.helm.config.v1+json"},
		{"WASM module", `{}`, "application/vnd.wasm.config.v0+json", "application/vnd.wasm.config.v0+json"},
		{"Flux artifact", `{}`, "application/vnd.cncf.flux.config.v1+json", "application/vnd.cncf.flux.config.v1+json"},
		{"OCI 1.1 SBOM artifact", `{"artifactType":"application/spdx+json"}`, "application/vnd.oci.empty.v1+json", "application/spdx+json"},
		{"OCI 1.1 artifact without artifactType", `{}`, "application/vnd.oci.empty.v1+json", "application/vnd.oci.empty.v1+json"},
	} {
		if got := importer.ArtifactTypeOf([]byte(c.manifest), c.config); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
