package importer_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/testregistry"
)

// Golden Images: what OpenShift's importer makes of each manifest kind, as
// an Image reads after PrepareImageForCreate (no raw manifest or config,
// no signatures), written down from OpenShift's functions and the pushed
// content, independently of regimport's normalization. Server-assigned
// fields (uid, resourceVersion, creationTimestamp) are left out.

// goldenFrozen is the import time; OpenShift gives a list Image Created = now.
var goldenFrozen = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// served reads an image back as the endpoint serves it by default, as a
// generic JSON object.
func served(t *testing.T, e *env, name string) map[string]any {
	t.Helper()
	img, err := e.cat.GetImage(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	img.DockerImageManifest, img.DockerImageConfig = "", ""
	b, err := json.Marshal(img)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	meta := m["metadata"].(map[string]any)
	delete(meta, "uid")
	delete(meta, "resourceVersion")
	delete(meta, "creationTimestamp")
	return m
}

func jsonValue(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

// dockerImageFromConfig is OpenShift's Convert_DockerImageConfig_to_image_DockerImage
// then InternalImageWithMetadata on the pushed config: the Docker 1.0 keys
// capitalised, Id = the config digest, Created to the second, Size =
// config length + unique layer sizes; os, rootfs and history dropped.
func dockerImageFromConfig(t *testing.T, p testregistry.Pushed) map[string]any {
	t.Helper()
	var c map[string]any
	if err := json.Unmarshal(p.Config, &c); err != nil {
		t.Fatal(err)
	}
	created, err := time.Parse(time.RFC3339Nano, c["created"].(string))
	if err != nil {
		t.Fatal(err)
	}
	size := float64(len(p.Config))
	seen := map[string]bool{}
	for _, l := range p.Layers {
		if !seen[l.Digest.String()] {
			seen[l.Digest.String()] = true
			size += float64(l.Size)
		}
	}
	m := map[string]any{
		"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0",
		"Id": p.ConfigDigest.String(), "Created": created.UTC().Truncate(time.Second).Format(time.RFC3339),
		"Architecture": c["architecture"], "Size": size, "ContainerConfig": map[string]any{},
	}
	for from, to := range map[string]string{"author": "Author", "docker_version": "DockerVersion", "container": "Container", "comment": "Comment", "parent": "Parent"} {
		if v, ok := c[from]; ok && v != "" {
			m[to] = v
		}
	}
	if v, ok := c["config"]; ok {
		m["Config"] = dockerConfig(v)
	}
	if v, ok := c["container_config"]; ok {
		m["ContainerConfig"] = dockerConfig(v)
	}
	return m
}

// dockerConfigKeys are the fields of OpenShift's docker10.DockerConfig;
// others (StopSignal, Healthcheck, Shell, ...) are dropped.
var dockerConfigKeys = map[string]bool{"Hostname": true, "Domainname": true, "User": true, "Memory": true, "MemorySwap": true,
	"CpuShares": true, "Cpuset": true, "AttachStdin": true, "AttachStdout": true, "AttachStderr": true, "PortSpecs": true,
	"ExposedPorts": true, "Tty": true, "OpenStdin": true, "StdinOnce": true, "Env": true, "Cmd": true, "Dns": true, "Image": true,
	"Volumes": true, "VolumesFrom": true, "WorkingDir": true, "Entrypoint": true, "NetworkDisabled": true, "SecurityOpts": true,
	"OnBuild": true, "Labels": true}

// dockerConfig is a Docker config as docker10.DockerConfig serializes it:
// only its fields, every one omitempty, so zero values (false, "", null,
// [], {}) vanish.
func dockerConfig(v any) any {
	c, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, f := range c {
		if !dockerConfigKeys[k] {
			continue
		}
		switch x := f.(type) {
		case nil:
			continue
		case bool:
			if !x {
				continue
			}
		case string:
			if x == "" {
				continue
			}
		case float64:
			if x == 0 {
				continue
			}
		case []any:
			if len(x) == 0 {
				continue
			}
		case map[string]any:
			if len(x) == 0 {
				continue
			}
		}
		out[k] = f
	}
	return out
}

func layersOf(p testregistry.Pushed) []any {
	var out []any
	for _, l := range p.Layers {
		out = append(out, map[string]any{"name": l.Digest.String(), "size": float64(l.Size), "mediaType": l.MediaType})
	}
	return out
}

func goldenSingle(t *testing.T, ref string, p testregistry.Pushed, metadata map[string]any, mediaType string) map[string]any {
	return map[string]any{
		"kind": "Image", "apiVersion": "image.openshift.io/v1",
		"metadata":                     map[string]any{"name": p.Digest.String(), "annotations": map[string]any{"image.openshift.io/dockerLayersOrder": "ascending"}},
		"dockerImageReference":         ref + "@" + p.Digest.String(),
		"dockerImageMetadata":          metadata,
		"dockerImageMetadataVersion":   "1.0",
		"dockerImageLayers":            layersOf(p),
		"dockerImageManifestMediaType": mediaType,
	}
}

// manifestListToImage: no layers, no annotations, Id = the list digest,
// Created = import time, one dockerImageManifests entry per child.
func goldenList(ref string, p testregistry.Pushed) map[string]any {
	var entries []any
	for _, c := range p.Children {
		e := map[string]any{"digest": c.Digest.String(), "mediaType": c.MediaType, "manifestSize": float64(len(c.Manifest)),
			"architecture": c.Platform.Architecture, "os": c.Platform.OS}
		if c.Platform.Variant != "" {
			e["variant"] = c.Platform.Variant
		}
		entries = append(entries, e)
	}
	return map[string]any{
		"kind": "Image", "apiVersion": "image.openshift.io/v1",
		"metadata":             map[string]any{"name": p.Digest.String()},
		"dockerImageReference": ref + "@" + p.Digest.String(),
		"dockerImageMetadata": map[string]any{"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0",
			"Id": p.Digest.String(), "Created": goldenFrozen.Format(time.RFC3339), "ContainerConfig": map[string]any{}},
		"dockerImageMetadataVersion":   "1.0",
		"dockerImageManifestMediaType": p.MediaType,
		"dockerImageManifests":         entries,
	}
}

func TestGoldenImages(t *testing.T) {
	e := newEnv(t)
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 4, Now: func() time.Time { return goldenFrozen }})
	if err != nil {
		t.Fatal(err)
	}
	e.imp = imp
	host := e.reg.Host()
	push := func(repo string, f testregistry.Format, seed int64) (string, testregistry.Pushed) {
		p := e.push(t, testregistry.ImageSpec{Repository: repo, Tags: []string{"v1"}, Format: f, Seed: seed, SharedBaseLayer: true})
		return host + "/" + repo, p
	}
	check := func(t *testing.T, name string, want map[string]any) {
		t.Helper()
		got := served(t, e, name)
		if !reflect.DeepEqual(got, want) {
			gb, _ := json.MarshalIndent(got, "", "  ")
			wb, _ := json.MarshalIndent(want, "", "  ")
			t.Errorf("Image %s differs from OpenShift's:\n got %s\nwant %s", name, gb, wb)
		}
	}
	var refs []string
	type golden struct {
		name string
		run  func(t *testing.T)
	}
	var cases []golden

	// schema2OrOCIToImage + InternalImageWithMetadata (schema 2 branch).
	r2, s2 := push("golden/schema2", testregistry.Schema2, 1)
	rOCI, oci := push("golden/oci", testregistry.OCI, 2)
	for _, c := range []struct {
		ref string
		p   testregistry.Pushed
	}{{r2, s2}, {rOCI, oci}} {
		refs = append(refs, c.ref+":v1")
		cases = append(cases, golden{c.p.MediaType, func(t *testing.T) {
			check(t, c.p.Digest.String(), goldenSingle(t, c.ref, c.p, dockerImageFromConfig(t, c.p), c.p.MediaType))
		}})
	}

	// schema1ToImage + InternalImageWithMetadata (schema 1 branch):
	// metadata from history[0].v1Compatibility (Convert_DockerV1CompatibilityImage_to_image_DockerImage),
	// layers base first with sizes from v1Compatibility, media type the
	// unsigned schema1 type, Size = unique layer sizes.
	r1, s1 := push("golden/schema1", testregistry.Schema1, 3)
	refs = append(refs, r1+":v1")
	cases = append(cases, golden{"schema1 signed", func(t *testing.T) {
		var m struct {
			History []struct {
				V1Compatibility string `json:"v1Compatibility"`
			} `json:"history"`
		}
		if err := json.Unmarshal(s1.Manifest, &m); err != nil {
			t.Fatal(err)
		}
		v1 := jsonValue(t, m.History[0].V1Compatibility).(map[string]any)
		created, _ := time.Parse(time.RFC3339Nano, v1["created"].(string))
		var size float64
		seen := map[string]bool{}
		for _, l := range s1.Layers {
			if !seen[l.Digest.String()] {
				seen[l.Digest.String()] = true
				size += float64(l.Size)
			}
		}
		meta := map[string]any{"kind": "DockerImage", "apiVersion": "image.openshift.io/1.0",
			"Id": v1["id"], "Parent": v1["parent"], "Created": created.UTC().Truncate(time.Second).Format(time.RFC3339),
			"Container": v1["container"], "ContainerConfig": dockerConfig(v1["container_config"]), "Config": dockerConfig(v1["config"]),
			"DockerVersion": v1["docker_version"], "Author": v1["author"], "Architecture": v1["architecture"], "Size": size}
		check(t, s1.Digest.String(), goldenSingle(t, r1, s1, meta, "application/vnd.docker.distribution.manifest.v1+json"))
	}})

	// manifestListToImage (PreserveOriginal, which `regimport import` uses).
	rl, list := push("golden/list", testregistry.DockerList, 4)
	ri, index := push("golden/index", testregistry.OCIIndex, 5)
	for _, c := range []struct {
		ref string
		p   testregistry.Pushed
	}{{rl, list}, {ri, index}} {
		refs = append(refs, c.ref+":v1")
		cases = append(cases, golden{c.p.MediaType, func(t *testing.T) {
			check(t, c.p.Digest.String(), goldenList(c.ref, c.p))
			// importSubManifests: each child an Image of its own, referenced by digest.
			child := c.p.Children[1]
			check(t, child.Digest.String(), goldenSingle(t, c.ref, child, dockerImageFromConfig(t, child), child.MediaType))
		}})
	}

	if s := e.run(t, importer.Request{References: refs}); len(s.Failures) != 0 {
		t.Fatalf("failures: %+v", s.Failures)
	}
	for _, c := range cases {
		t.Run(c.name, c.run)
	}
}
