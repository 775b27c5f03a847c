package importer

import (
	"fmt"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/manifest"
)

// What OpenShift's importer refuses, regimport accepts and marks: an
// unsigned schema1, a body mediaType other than the one served, a config
// that does not parse into OpenShift's DockerImageConfig.
func TestNonconformingManifestsAreAcceptedAndMarked(t *testing.T) {
	raw, config := schema2Fixture(t, manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema2LayerMediaType)
	if n, err := NormalizeImage(testRepo, raw, manifest.DockerV2Schema2MediaType, digest.FromBytes(raw), config); err != nil || len(n.Nonconforming) != 0 ||
		n.Image.Annotations[NonconformingAnnotation] != "" {
		t.Fatalf("a conforming manifest: %v %v", err, n.Nonconforming)
	}

	// Served as OCI, the body says Docker schema2.
	n, err := NormalizeImage(testRepo, raw, "application/vnd.oci.image.manifest.v1+json", digest.FromBytes(raw), config)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Image.Annotations[NonconformingAnnotation]; !strings.Contains(got, `manifest mediaType "application/vnd.docker.distribution.manifest.v2+json" disagrees with the "application/vnd.oci.image.manifest.v1+json" the registry served`) {
		t.Errorf("mediaType mismatch: annotation %q", got)
	}

	for name, bad := range map[string]string{
		"history created": `"history":[{"created":"yesterday"}]`,
		"rootfs":          `"rootfs":"layers"`,
		"os.features":     `"os.features":"sse4"`,
	} {
		cfg := []byte(fmt.Sprintf(`{"architecture":"amd64","os":"linux",%s}`, bad))
		m := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},"layers":[]}`,
			len(cfg), digest.FromBytes(cfg)))
		n, err := NormalizeImage(testRepo, m, "application/vnd.oci.image.manifest.v1+json", digest.FromBytes(m), cfg)
		if err != nil {
			t.Fatalf("%s: refused: %v", name, err)
		}
		if got := n.Image.Annotations[NonconformingAnnotation]; !strings.HasPrefix(got, "config does not parse as OpenShift's DockerImageConfig") || len(n.Nonconforming) != 1 {
			t.Errorf("%s: annotation %q", name, got)
		}
	}

	// TestNormalizeSchema1's manifest has no JWS signatures.
	v1 := `"{\"id\":\"a\",\"created\":\"2016-01-02T03:04:05Z\"}"`
	s1 := []byte(fmt.Sprintf(`{"schemaVersion":1,"name":"ns/app","tag":"v1","fsLayers":[{"blobSum":%q}],"history":[{"v1Compatibility":%s}]}`, digest.FromString("l"), v1))
	d, _ := manifest.Digest(s1)
	n, err = NormalizeImage(testRepo, s1, manifest.DockerV2Schema1MediaType, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Image.Annotations[NonconformingAnnotation]; got != "unsigned schema1 manifest: OpenShift imports only signed schema1" {
		t.Errorf("unsigned schema1: annotation %q", got)
	}
}
