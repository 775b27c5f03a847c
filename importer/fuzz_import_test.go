package importer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
	"go.podman.io/image/v5/manifest"
)

// FuzzImportFromRegistry serves random combinations of configs, image
// manifests and indexes from the real in-process registry and imports
// them end to end into a real catalog: the config's bytes are the fuzzer's;
// shape picks the manifest and index formats, the platforms and whether
// the second child's config is the first child's manifest (the crafted
// index); extra is pushed as a manifest of its own where the registry
// takes it. Nothing may panic, the run must end, every reference must end
// imported or failed, and a plain image in the same run is always imported.
func FuzzImportFromRegistry(f *testing.F) {
	f.Add([]byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`), uint8(0), []byte(`{}`))
	f.Add([]byte(`{"architecture":"arm64","os":"linux","variant":"v8","created":"2024-01-01T00:00:00Z"}`), uint8(0x1f), []byte(`{"schemaVersion":2,"manifests":[]}`))
	f.Add([]byte(`{"schemaVersion":2,"manifests":[]}`), uint8(0x04), []byte("not json"))
	f.Add([]byte("\x00\xff garbage"), uint8(0x0a), []byte(`{"schemaVersion":1}`))
	e := newEnv(f)
	ctx := context.Background()
	good := e.push(f, testregistry.ImageSpec{Repository: "fuzz/good", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 7})
	n := 0
	f.Fuzz(func(t *testing.T, config []byte, shape uint8, extra []byte) {
		n++
		repo := fmt.Sprintf("fuzz/case%d", n)
		layer := []byte(fmt.Sprintf("layer %d", n))
		imageType, configType := imgspecv1.MediaTypeImageManifest, imgspecv1.MediaTypeImageConfig
		listType := imgspecv1.MediaTypeImageIndex
		if shape&1 != 0 {
			imageType, configType = manifest.DockerV2Schema2MediaType, manifest.DockerV2Schema2ConfigMediaType
		}
		if shape&2 != 0 {
			listType = manifest.DockerV2ListMediaType
		}
		first, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": imageType,
			"config": desc(configType, config), "layers": []any{desc(imgspecv1.MediaTypeImageLayerGzip, layer)}})
		if err != nil {
			t.Fatal(err)
		}
		secondConfig := desc(configType, config)
		if shape&4 != 0 { // the crafted index: a config that is a manifest
			secondConfig = desc(configType, first)
		}
		second, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": imageType,
			"config": secondConfig, "layers": []any{desc(imgspecv1.MediaTypeImageLayerGzip, layer)}})
		if err != nil {
			t.Fatal(err)
		}
		platforms := []map[string]string{{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64"}}
		if shape&8 != 0 { // both children claim one platform
			platforms[1] = platforms[0]
		}
		if shape&16 != 0 { // an attestation-like entry
			platforms[1] = map[string]string{"os": "unknown", "architecture": "unknown"}
		}
		index, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": listType, "manifests": []any{
			withPlatform(desc(imageType, first), platforms[0]), withPlatform(desc(imageType, second), platforms[1])}})
		if err != nil {
			t.Fatal(err)
		}
		var refs []string
		push := func(ref, mediaType string, m []byte, blobs ...[]byte) {
			if err := e.reg.PushRaw(ctx, repo, ref, mediaType, m, blobs...); err == nil {
				refs = append(refs, ref)
			}
		}
		push("first", imageType, first, config, layer)
		if err := e.reg.PushRaw(ctx, repo, digest.FromBytes(second).String(), imageType, second, config, first, layer); err == nil {
			push("index", listType, index)
		}
		push("extra", imgspecv1.MediaTypeImageManifest, extra)
		host := e.reg.Host()
		req := importer.Request{References: []string{host + "/fuzz/good:v1"}}
		for _, r := range refs {
			req.References = append(req.References, host+"/"+repo+":"+r)
		}
		s, err := e.imp.Run(ctx, req)
		if err != nil {
			t.Fatalf("the run failed as a whole: %v", err)
		}
		failed := map[string]bool{}
		for _, f := range s.Failures {
			failed[f.Reference] = true
		}
		if failed[host+"/fuzz/good:v1"] {
			t.Fatalf("the plain image failed beside the fuzzed ones: %+v", s.Failures)
		}
		if img, err := e.cat.TagImage(ctx, host+"/fuzz/good", "v1"); err != nil || img != good.Digest.String() {
			t.Fatalf("the plain image is not in the catalog: %q %v", img, err)
		}
		for _, r := range refs {
			ref := host + "/" + repo + ":" + r
			if failed[ref] {
				continue
			}
			if img, err := e.cat.TagImage(ctx, host+"/"+repo, r); err != nil || img == "" {
				t.Fatalf("%s neither failed nor was imported (%q, %v); failures %+v", ref, img, err, s.Failures)
			}
		}
	})
}

func desc(mediaType string, b []byte) map[string]any {
	return map[string]any{"mediaType": mediaType, "digest": digest.FromBytes(b).String(), "size": len(b)}
}

func withPlatform(d map[string]any, p map[string]string) map[string]any {
	d["platform"] = p
	return d
}
