package importer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"go.podman.io/image/v5/manifest"
)

const testRepo = "registry.example.com/ns/app"

func schema2Fixture(t *testing.T, mediaType, layerType string) (raw, config []byte) {
	t.Helper()
	config = []byte(`{"architecture":"arm64","os":"linux","variant":"v8","author":"Ann <ann@example.com>",` +
		`"created":"2024-05-06T07:08:09.123456789Z","docker_version":"24.0.7","container":"abc123",` +
		`"config":{"User":"1001","Env":["PATH=/usr/bin"],"Cmd":["/app"],"Entrypoint":["/init"],"WorkingDir":"/srv",` +
		`"ExposedPorts":{"8080/tcp":{}},"Labels":{"org.opencontainers.image.version":"1.2.3"},"Volumes":{"/data":{}},"StopSignal":"SIGTERM"},` +
		`"container_config":{"Hostname":"builder","Cmd":["/bin/sh","-c","#(nop) CMD [\"/app\"]"]},` +
		`"rootfs":{"type":"layers","diff_ids":["sha256:1111111111111111111111111111111111111111111111111111111111111111"]},` +
		`"history":[{"created_by":"x"}]}`)
	l1 := digest.FromString("layer-1")
	l2 := digest.FromString("layer-2")
	raw = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"x","size":%d,"digest":%q},"layers":[`+
		`{"mediaType":%q,"size":100,"digest":%q},{"mediaType":%q,"size":30,"digest":%q},{"mediaType":%q,"size":100,"digest":%q}]}`,
		mediaType, len(config), digest.FromBytes(config), layerType, l1, layerType, l2, layerType, l1))
	return raw, config
}

func decodeMeta(t *testing.T, img *imagev1.Image) (docker10.DockerImage, map[string]any) {
	t.Helper()
	var meta docker10.DockerImage
	if err := json.Unmarshal(img.DockerImageMetadata.Raw, &meta); err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(img.DockerImageMetadata.Raw, &generic); err != nil {
		t.Fatal(err)
	}
	return meta, generic
}

func TestNormalizeSchema2AndOCI(t *testing.T) {
	for _, tc := range []struct{ mediaType, layerType string }{
		{manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema2LayerMediaType},
		{"application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"},
	} {
		t.Run(tc.mediaType, func(t *testing.T) {
			raw, config := schema2Fixture(t, tc.mediaType, tc.layerType)
			d := digest.FromBytes(raw)
			n, err := NormalizeImage(testRepo, raw, tc.mediaType, d, config)
			if err != nil {
				t.Fatal(err)
			}
			img := n.Image
			if img.Name != d.String() {
				t.Errorf("name %s, want manifest digest %s", img.Name, d)
			}
			if img.DockerImageReference != testRepo+"@"+d.String() {
				t.Errorf("dockerImageReference %s", img.DockerImageReference)
			}
			if img.Annotations[imagev1.DockerImageLayersOrderAnnotation] != "ascending" || len(img.Annotations) != 1 {
				t.Errorf("annotations %v, want only dockerLayersOrder=ascending", img.Annotations)
			}
			if len(img.Labels) != 0 {
				t.Errorf("labels %v, want none", img.Labels)
			}
			if img.DockerImageMetadataVersion != "1.0" || img.DockerImageManifestMediaType != tc.mediaType {
				t.Errorf("metadataVersion %q mediaType %q", img.DockerImageMetadataVersion, img.DockerImageManifestMediaType)
			}
			if img.DockerImageManifest != string(raw) || img.DockerImageConfig != string(config) {
				t.Error("raw manifest or config not kept as served")
			}
			if len(img.DockerImageLayers) != 3 || img.DockerImageLayers[0].Name != digest.FromString("layer-1").String() ||
				img.DockerImageLayers[1].LayerSize != 30 || img.DockerImageLayers[2].MediaType != tc.layerType {
				t.Errorf("layers %+v: want manifest order with duplicates kept", img.DockerImageLayers)
			}
			meta, generic := decodeMeta(t, img)
			if generic["kind"] != "DockerImage" || generic["apiVersion"] != "image.openshift.io/1.0" {
				t.Errorf("metadata TypeMeta %v/%v", generic["kind"], generic["apiVersion"])
			}
			if meta.ID != digest.FromBytes(config).String() {
				t.Errorf("Id %s, want the config digest", meta.ID)
			}
			if want := int64(len(config)) + 100 + 30; meta.Size != want {
				t.Errorf("Size %d, want config length + unique layers = %d", meta.Size, want)
			}
			if meta.Architecture != "arm64" || meta.Author != "Ann <ann@example.com>" || meta.DockerVersion != "24.0.7" || meta.Container != "abc123" {
				t.Errorf("metadata fields %+v", meta)
			}
			// metav1.Time serializes whole seconds, as OpenShift serves it.
			if !meta.Created.Time.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
				t.Errorf("Created %v", meta.Created)
			}
			if meta.Config == nil || meta.Config.User != "1001" || meta.Config.WorkingDir != "/srv" || meta.Config.Labels["org.opencontainers.image.version"] != "1.2.3" ||
				len(meta.Config.Entrypoint) != 1 || len(meta.Config.ExposedPorts) != 1 || len(meta.Config.Volumes) != 1 {
				t.Errorf("Config %+v", meta.Config)
			}
			if meta.ContainerConfig.Hostname != "builder" {
				t.Errorf("ContainerConfig %+v", meta.ContainerConfig)
			}
			for _, dropped := range []string{"os", "rootfs", "history", "variant", "StopSignal"} {
				if strings.Contains(string(img.DockerImageMetadata.Raw), `"`+dropped+`"`) {
					t.Errorf("dockerImageMetadata keeps %q, which OpenShift drops: %s", dropped, img.DockerImageMetadata.Raw)
				}
			}
			for _, key := range []string{`"Id"`, `"Created"`, `"Architecture"`, `"Size"`, `"Config"`, `"DockerVersion"`} {
				if !strings.Contains(string(img.DockerImageMetadata.Raw), key) {
					t.Errorf("dockerImageMetadata lacks capitalised key %s", key)
				}
			}
			if n.Platform != (catalog.Platform{Architecture: "arm64", OS: "linux", Variant: "v8"}) {
				t.Errorf("platform %+v", n.Platform)
			}
		})
	}
}

func TestNormalizeSchema2MediaTypeFromBodyWins(t *testing.T) {
	raw, config := schema2Fixture(t, manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema2LayerMediaType)
	n, err := NormalizeImage(testRepo, raw, "application/json", digest.FromBytes(raw), config)
	if err != nil {
		t.Fatal(err)
	}
	if n.Image.DockerImageManifestMediaType != manifest.DockerV2Schema2MediaType {
		t.Errorf("media type %s, want the manifest's own mediaType", n.Image.DockerImageManifestMediaType)
	}
}

func TestNormalizeSchema1(t *testing.T) {
	v1 := func(id, parent string, size int) string {
		b, _ := json.Marshal(fmt.Sprintf(`{"id":%q,"parent":%q,"created":"2016-01-02T03:04:05Z","architecture":"amd64","os":"linux","docker_version":"1.9.1","container_config":{"Cmd":["/bin/sh"]},"config":{"Cmd":["sh"],"Env":["A=1"]},"Size":%d}`, id, parent, size))
		return string(b)
	}
	top, base := digest.FromString("top"), digest.FromString("base")
	raw := []byte(fmt.Sprintf(`{"schemaVersion":1,"name":"ns/app","tag":"v1","architecture":"amd64","fsLayers":[{"blobSum":%q},{"blobSum":%q},{"blobSum":%q}],"history":[{"v1Compatibility":%s},{"v1Compatibility":%s},{"v1Compatibility":%s}]}`,
		top, base, base, v1("id-top", "id-mid", 7), v1("id-mid", "id-base", 0), v1("id-base", "", 50)))
	d, err := manifest.Digest(raw)
	if err != nil {
		t.Fatal(err)
	}
	n, err := NormalizeImage(testRepo, raw, manifest.DockerV2Schema1SignedMediaType, d, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := n.Image
	if img.DockerImageManifestMediaType != manifest.DockerV2Schema1MediaType {
		t.Errorf("media type %s, want %s for any schema1", img.DockerImageManifestMediaType, manifest.DockerV2Schema1MediaType)
	}
	if len(img.DockerImageLayers) != 3 || img.DockerImageLayers[0].Name != base.String() || img.DockerImageLayers[2].Name != top.String() ||
		img.DockerImageLayers[0].LayerSize != 50 || img.DockerImageLayers[2].LayerSize != 7 ||
		img.DockerImageLayers[0].MediaType != "application/vnd.docker.container.image.rootfs.diff+x-gtar" {
		t.Errorf("layers %+v: want fsLayers reversed, sizes from v1Compatibility", img.DockerImageLayers)
	}
	meta, _ := decodeMeta(t, img)
	if meta.ID != "id-top" || meta.Parent != "id-mid" || meta.DockerVersion != "1.9.1" {
		t.Errorf("metadata %+v: want history[0]", meta)
	}
	if meta.Size != 50+7 {
		t.Errorf("Size %d, want unique layer sizes 57", meta.Size)
	}
	if img.DockerImageConfig != "" {
		t.Error("schema1 has no config")
	}
}

func TestNormalizeList(t *testing.T) {
	a, b := digest.FromString("amd"), digest.FromString("arm")
	raw := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,"digest":%q,"platform":{"architecture":"amd64","os":"linux"}},`+
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":501,"digest":%q,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}`, a, b))
	d := digest.FromBytes(raw)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	n, err := NormalizeList(testRepo, raw, "application/vnd.oci.image.index.v1+json", d, now)
	if err != nil {
		t.Fatal(err)
	}
	img := n.Image
	if len(img.Annotations) != 0 || len(img.DockerImageLayers) != 0 {
		t.Errorf("list image has annotations %v or layers %v", img.Annotations, img.DockerImageLayers)
	}
	want := []imagev1.ImageManifest{
		{Digest: a.String(), MediaType: "application/vnd.oci.image.manifest.v1+json", ManifestSize: 500, Architecture: "amd64", OS: "linux"},
		{Digest: b.String(), MediaType: "application/vnd.oci.image.manifest.v1+json", ManifestSize: 501, Architecture: "arm64", OS: "linux", Variant: "v8"},
	}
	if fmt.Sprint(img.DockerImageManifests) != fmt.Sprint(want) {
		t.Errorf("dockerImageManifests %+v, want %+v", img.DockerImageManifests, want)
	}
	meta, _ := decodeMeta(t, img)
	if meta.ID != d.String() || !meta.Created.Time.Equal(now) {
		t.Errorf("list metadata %+v: want Id = list digest, Created = import time", meta)
	}
}

func TestNormalizeRejectsBadInput(t *testing.T) {
	raw, config := schema2Fixture(t, manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema2LayerMediaType)
	d := digest.FromBytes(raw)
	for name, tc := range map[string]struct {
		raw, config []byte
		mediaType   string
		want        string
	}{
		"not json":           {[]byte("{"), config, manifest.DockerV2Schema2MediaType, "not valid JSON"},
		"wrong schema":       {[]byte(`{"schemaVersion":3}`), config, manifest.DockerV2Schema2MediaType, "schemaVersion 3"},
		"bad layer digest":   {[]byte(`{"schemaVersion":2,"config":{"digest":"` + digest.FromBytes(config).String() + `"},"layers":[{"digest":"md5:x"}]}`), config, manifest.DockerV2Schema2MediaType, "layer 0 digest"},
		"config mismatch":    {raw, []byte(`{"architecture":"amd64"}`), manifest.DockerV2Schema2MediaType, "content integrity error"},
		"missing config":     {raw, nil, manifest.DockerV2Schema2MediaType, "must not be empty"},
		"schema1 no history": {[]byte(`{"schemaVersion":1,"fsLayers":[],"history":[]}`), nil, manifest.DockerV2Schema1MediaType, "no history"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NormalizeImage(testRepo, tc.raw, tc.mediaType, d, tc.config)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestNormalizedIndexedMetadataMatchesItsJSON: what the importer hands the
// catalog to index (ImageRecord.Indexed) is what decoding the served
// dockerImageMetadata gives: a created time with nanoseconds is indexed to
// the second, as the JSON holds it.
func TestNormalizedIndexedMetadataMatchesItsJSON(t *testing.T) {
	raw, config := schema2Fixture(t, manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema2LayerMediaType)
	image, err := NormalizeImage(testRepo, raw, manifest.DockerV2Schema2MediaType, digest.FromBytes(raw), config)
	if err != nil {
		t.Fatal(err)
	}
	listRaw := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`+
		`{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":500,"digest":%q,"platform":{"architecture":"amd64","os":"linux"}}]}`, digest.FromString("amd")))
	list, err := NormalizeList(testRepo, listRaw, "application/vnd.oci.image.index.v1+json", digest.FromBytes(listRaw), time.Date(2026, 1, 2, 3, 4, 5, 678, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*Normalized{"image": image, "list": list} {
		if n.indexed == nil {
			t.Fatalf("%s: no indexed metadata", name)
		}
		checkIndexed(t, n)
		if n.indexed.Created.Nanosecond() != 0 || n.indexed.Created.IsZero() {
			t.Errorf("%s: indexed created %v, want whole seconds", name, n.indexed.Created)
		}
	}
	if image.indexed.Architecture != "arm64" || image.indexed.Size == 0 {
		t.Errorf("image indexed %+v, want arm64 and a size", *image.indexed)
	}

}

// checkIndexed fails unless n's indexed metadata, when it has one, equals
// what the catalog decodes from its dockerImageMetadata.
func checkIndexed(t *testing.T, n *Normalized) {
	t.Helper()
	if n.indexed == nil {
		return
	}
	got := *n.indexed
	want, err := catalog.IndexMetadata(n.Image.DockerImageMetadata.Raw)
	if err != nil {
		t.Fatalf("indexed %+v, but the metadata does not decode: %v", got, err)
	}
	if got.Architecture != want.Architecture || got.Size != want.Size || !got.Created.Equal(want.Created) {
		t.Errorf("indexed %+v, decoding the metadata gives %+v", got, want)
	}
}
