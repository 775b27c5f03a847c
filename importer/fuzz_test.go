package importer

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/manifest"
)

// FuzzNormalize feeds arbitrary manifests and configs to normalization: it
// must return an Image or an error, never panic, and an Image it returns
// must be named by the digest and keep the bytes, and what it gives the
// catalog to index must be what its metadata decodes to.
func FuzzNormalize(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"config":{"digest":"sha256:`+digest.FromString("c").Encoded()+`"},"layers":[{"digest":"sha256:`+digest.FromString("l").Encoded()+`","size":3}]}`), []byte(`{"architecture":"amd64","created":"2024-01-01T00:00:00Z"}`), uint8(0))
	f.Add([]byte(`{"schemaVersion":1,"fsLayers":[{"blobSum":"sha256:`+digest.FromString("l").Encoded()+`"}],"history":[{"v1Compatibility":"{\"id\":\"x\",\"Size\":3}"}]}`), []byte(nil), uint8(2))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:`+digest.FromString("a").Encoded()+`","size":1,"platform":{"architecture":"arm64","os":"linux"}}]}`), []byte(nil), uint8(3))
	types := []string{manifest.DockerV2Schema2MediaType, "application/vnd.oci.image.manifest.v1+json", manifest.DockerV2Schema1SignedMediaType, manifest.DockerV2ListMediaType}
	f.Fuzz(func(t *testing.T, raw, config []byte, kind uint8) {
		mt := types[int(kind)%len(types)]
		d := digest.FromBytes(raw)
		var n *Normalized
		var err error
		if k, _ := KindOf(mt); k == ImageList {
			n, err = NormalizeList("r.example.com/a", raw, mt, d, time.Unix(0, 0))
		} else {
			n, err = NormalizeImage("r.example.com/a", raw, mt, d, config)
			checkConfigDecode(t, config)
		}
		if err != nil {
			return
		}
		if n.Image.Name != d.String() || n.Image.DockerImageManifest != string(raw) || len(n.Image.DockerImageMetadata.Raw) == 0 {
			t.Fatalf("normalized image lost its identity: %+v", n.Image.ObjectMeta)
		}
		checkIndexed(t, n)
	})
}

// checkConfigDecode fails unless decodeConfig gives what decoding config as
// configDoc alone gives (see TestDecodeConfigAgreesWithLaxDecode).
func checkConfigDecode(t *testing.T, config []byte) {
	if why := configDecodeMismatch(config); why != "" {
		t.Fatal(why)
	}
}

// configDecodeMismatch says how decodeConfig's result differs from the
// configDoc decode alone (error, metadata fields, created time,
// conformance), or "" when it does not.
func configDecodeMismatch(config []byte) string {
	got, gotErr := decodeConfig(config)
	want := &configDoc{}
	wantErr := json.Unmarshal(config, want)
	switch {
	case fmt.Sprint(gotErr) != fmt.Sprint(wantErr):
		return fmt.Sprintf("decodeConfig error %v, the lax decode's %v", gotErr, wantErr)
	case wantErr != nil:
		return ""
	case !reflect.DeepEqual(got.untrustedConfig, want.untrustedConfig) || got.Created != want.Created:
		return fmt.Sprintf("decodeConfig decoded %+v %+v, the lax decode %+v %+v", got.untrustedConfig, got.Created, want.untrustedConfig, want.Created)
	case got.conforms() != want.conforms():
		return fmt.Sprintf("decodeConfig conforms %v, the lax decode %v", got.conforms(), want.conforms())
	}
	return ""
}
