package importer

import (
	"encoding/json"
	"fmt"
	"sort"
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

// TestOnePassConformanceAgreesWithSeparateDecode: Normalize decodes a
// config once for the metadata and the conformance check; its reasons must
// be exactly those of conformance, which decodes manifest and config again
// on their own, for configs that pass, fail in one checked field, fail in
// one occurrence of a repeated key, or hold nulls.
func TestOnePassConformanceAgreesWithSeparateDecode(t *testing.T) {
	const oci = "application/vnd.oci.image.manifest.v1+json"
	configs := []string{
		`{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":[{"created":"2024-01-02T03:04:05Z"}],"os.features":["x"]}`,
		`{"architecture":"amd64","os":"linux","created":null,"rootfs":null,"history":null,"os.features":null}`,
		`{"architecture":"amd64","history":[{"created":"yesterday"}]}`,
		`{"architecture":"amd64","history":[{"created":"2024-01-02T03:04:05Z"},{"created":7}]}`,
		`{"architecture":"amd64","rootfs":"layers"}`,
		`{"architecture":"amd64","rootfs":{"diff_ids":"x"}}`,
		`{"architecture":"amd64","os.features":"sse4"}`,
		`{"architecture":"amd64","rootfs":"layers","ROOTFS":{"type":"layers"}}`,
		`{"architecture":"amd64","history":[{"created":1}],"History":[]}`,
		`{"architecture":"amd64","created":"2024-01-02T03:04:05+00:00"}`,
		`{"architecture":"amd64","created":"2024-01-02T03:04:05.Z"}`,
		`{"architecture":"amd64","Created":"2024-01-02T03:04:05Z","created":"2024-01-02T03:04:05Z"}`,
	}
	manifests := []string{
		`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},"layers":[]}`,
		`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},"layers":[],"signatures":"none"}`,
		`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},"layers":[],"signatures":[{}]}`,
	}
	nonconforming := 0
	for i, cfg := range configs {
		for j, mf := range manifests {
			for _, body := range []string{oci, "application/vnd.docker.distribution.manifest.v2+json"} {
				c := []byte(cfg)
				m := []byte(fmt.Sprintf(mf, body, len(c), digest.FromBytes(c)))
				n, err := NormalizeImage(testRepo, m, oci, digest.FromBytes(m), c)
				want := conformance(m, oci, c)
				if err != nil {
					// The metadata's own decode refuses it; then nothing is judged.
					if !strings.Contains(err.Error(), "failed to parse dockerImageConfig") {
						t.Errorf("config %d, manifest %d: %v", i, j, err)
					}
					continue
				}
				sort.Strings(want)
				if fmt.Sprint(n.Nonconforming) != fmt.Sprint(want) {
					t.Errorf("config %d, manifest %d, body %s: reasons %q, separate decode %q", i, j, body, n.Nonconforming, want)
				}
				if len(want) > 0 {
					nonconforming++
				}
			}
		}
	}
	if nonconforming < 10 {
		t.Errorf("only %d nonconforming cases: the table no longer tests the check", nonconforming)
	}
}

// TestDecodeConfigAgreesWithLaxDecode: decodeConfig tries a strict decode
// first and decodes as configDoc only when that fails; it must give what
// the configDoc decode alone gives (metadata fields, created time,
// conformance, error), for configs that take either path: conforming ones,
// ones failing a checked field once or in one occurrence of a repeated key
// (the strict decode fails, then the lax decode judges), nulls, and ones
// whose unchecked fields fail the decode altogether.
func TestDecodeConfigAgreesWithLaxDecode(t *testing.T) {
	configs := []string{
		`{"architecture":"amd64","os":"linux","variant":"v8","created":"2024-01-02T03:04:05Z","config":{"Env":["A=1"],"Labels":{"a":"b"}},"rootfs":{"type":"layers","diff_ids":["sha256:aa"]},"history":[{"created":"2024-01-02T03:04:05Z","created_by":"x"},null,{}],"os.features":["x"]}`,
		`{"architecture":"amd64","created":null,"rootfs":null,"history":null,"os.features":null}`,
		`{"architecture":"amd64","history":[{"created":"yesterday"}]}`,
		`{"architecture":"amd64","history":[{"CREATED":"yesterday"}]}`,
		`{"architecture":"amd64","history":[{"created":"2024-01-02T03:04:05Z"},{"created":7}]}`,
		`{"architecture":"amd64","history":[{"created":1}],"History":[]}`,
		`{"architecture":"amd64","History":[],"history":[{"created":1}]}`,
		`{"architecture":"amd64","history":{"created":"2024-01-02T03:04:05Z"}}`,
		`{"architecture":"amd64","history":[1]}`,
		`{"architecture":"amd64","rootfs":"layers"}`,
		`{"architecture":"amd64","rootfs":{"diff_ids":"x"}}`,
		`{"architecture":"amd64","rootfs":{"type":"layers"},"RootFS":{"diff_ids":[1]}}`,
		`{"architecture":"amd64","os.features":"sse4"}`,
		`{"architecture":"amd64","created":"2024-01-02T03:04:05+00:00"}`,
		`{"architecture":"amd64","created":"2024-01-02T03:04:05.Z"}`,
		`{"architecture":"amd64","created":"not a time"}`,
		`{"architecture":7}`,
		`{"architecture":7,"history":[{"created":1}]}`,
		`{"architecture":"amd64","config":{"Env":"A=1"}}`,
		`{"architecture":"amd64",`,
		`[]`,
	}
	paths := map[bool]int{}
	for i, cfg := range configs {
		var strict strictConfigDoc
		paths[json.Unmarshal([]byte(cfg), &strict) == nil]++
		if why := configDecodeMismatch([]byte(cfg)); why != "" {
			t.Errorf("config %d: %s", i, why)
		}
	}
	if paths[true] < 3 || paths[false] < 10 {
		t.Errorf("the table takes the strict path %d times and the lax one %d: it no longer tests both", paths[true], paths[false])
	}
}
