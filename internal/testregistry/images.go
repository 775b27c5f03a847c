package testregistry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Format is the kind of manifest Push writes.
type Format int

const (
	Schema2    Format = iota // Docker image manifest v2 schema 2
	OCI                      // OCI image manifest
	DockerList               // Docker manifest list of Schema2 children
	OCIIndex                 // OCI index of OCI children
	Schema1                  // Docker schema 1, signed (served by a shim: v3 dropped it)
)

func (f Format) String() string {
	return [...]string{"schema2", "oci", "docker-list", "oci-index", "schema1"}[f]
}

// Media types written.
const (
	MediaTypeSchema2       = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeSchema2Config = "application/vnd.docker.container.image.v1+json"
	MediaTypeSchema2Layer  = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
)

// Platform of an image.
type Platform struct {
	Architecture, OS, Variant string
}

// ImageSpec describes an image to generate and push.
type ImageSpec struct {
	Repository string   // "library/app"
	Tags       []string // tags for the same manifest
	Format     Format
	// Platforms of a list's children; default linux/amd64 and linux/arm64/v8.
	Platforms []Platform
	// Layers per image (default 2).
	Layers int
	// Seed makes the content deterministic; other seeds, other digests.
	Seed int64
	// Created is the config's created time (default 2024-01-02T03:04:05Z + Seed seconds).
	Created time.Time
	Labels  map[string]string
	// SharedBaseLayer makes the first layer the same bytes in every image that sets it.
	SharedBaseLayer bool
	// LayerPool, when > 0, draws the layers above the base from a pool of
	// that many per repository, as real repositories share layers.
	LayerPool int
}

// LayerInfo is a layer as it stands in a manifest.
type LayerInfo struct {
	Digest    digest.Digest
	Size      int64
	MediaType string
}

// Pushed is what was pushed, for tests to compare with what was imported.
type Pushed struct {
	Repository   string
	Tags         []string
	Digest       digest.Digest
	MediaType    string
	Manifest     []byte
	ConfigDigest digest.Digest // empty for lists and schema1
	Config       []byte
	Layers       []LayerInfo // manifest order (schema1: base first, as imported)
	Children     []Pushed    // lists: one per platform
	Platform     *Platform
}

type layer struct {
	compressed []byte
	diffID     digest.Digest
}

// makeLayer builds a small gzip'd tar whose content depends only on key.
func makeLayer(key string) layer {
	rng := rand.New(rand.NewPCG(uint64(len(key)), hash64(key)))
	content := make([]byte, 200+rng.IntN(300))
	for i := range content {
		content[i] = byte('a' + rng.IntN(26))
	}
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	_ = tw.WriteHeader(&tar.Header{Name: "data/" + key, Mode: 0o644, Size: int64(len(content)), ModTime: time.Unix(1700000000, 0)})
	_, _ = tw.Write(content)
	_ = tw.Close()
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.ModTime = time.Unix(1700000000, 0)
	_, _ = zw.Write(tarBuf.Bytes())
	_ = zw.Close()
	return layer{compressed: gz.Bytes(), diffID: digest.FromBytes(tarBuf.Bytes())}
}

func hash64(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// layersFor picks the layers of one image.
func layersFor(spec ImageSpec, salt string) []layer {
	n := spec.Layers
	if n <= 0 {
		n = 2
	}
	out := make([]layer, 0, n)
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("%s/%d/%s/%d", spec.Repository, spec.Seed, salt, i)
		switch {
		case i == 0 && spec.SharedBaseLayer:
			key = "shared-base"
		case spec.LayerPool > 0:
			key = fmt.Sprintf("%s/pool/%d", spec.Repository, (int(spec.Seed)+i*7+len(salt))%spec.LayerPool)
		}
		out = append(out, makeLayer(key))
	}
	return out
}

// dockerConfig is the image config written for both Docker and OCI images.
type dockerConfig struct {
	Architecture    string          `json:"architecture"`
	OS              string          `json:"os"`
	Variant         string          `json:"variant,omitempty"`
	Created         time.Time       `json:"created"`
	Author          string          `json:"author,omitempty"`
	DockerVersion   string          `json:"docker_version,omitempty"`
	Container       string          `json:"container,omitempty"`
	Config          containerConfig `json:"config"`
	ContainerConfig *containerCfg2  `json:"container_config,omitempty"`
	RootFS          struct {
		Type    string          `json:"type"`
		DiffIDs []digest.Digest `json:"diff_ids"`
	} `json:"rootfs"`
	History []imgspecv1.History `json:"history"`
}

type containerConfig struct {
	User         string              `json:"User,omitempty"`
	ExposedPorts map[string]struct{} `json:"ExposedPorts,omitempty"`
	Env          []string            `json:"Env,omitempty"`
	Entrypoint   []string            `json:"Entrypoint,omitempty"`
	Cmd          []string            `json:"Cmd,omitempty"`
	Volumes      map[string]struct{} `json:"Volumes,omitempty"`
	WorkingDir   string              `json:"WorkingDir,omitempty"`
	Labels       map[string]string   `json:"Labels,omitempty"`
}

type containerCfg2 struct {
	Hostname string   `json:"Hostname"`
	Cmd      []string `json:"Cmd"`
}

func makeConfig(spec ImageSpec, p Platform, layers []layer, docker bool) []byte {
	created := spec.Created
	if created.IsZero() {
		created = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(spec.Seed) * time.Second)
	}
	c := dockerConfig{
		Architecture: p.Architecture, OS: p.OS, Variant: p.Variant, Created: created,
		Author: "regimport tests <tests@regimport.invalid>",
		Config: containerConfig{
			User: "1001", ExposedPorts: map[string]struct{}{"8080/tcp": {}},
			Env:        []string{"PATH=/usr/local/bin:/usr/bin:/bin", fmt.Sprintf("SEED=%d", spec.Seed)},
			Entrypoint: []string{"/entrypoint.sh"}, Cmd: []string{"serve"},
			Volumes: map[string]struct{}{"/data": {}}, WorkingDir: "/srv", Labels: spec.Labels,
		},
	}
	if docker {
		c.DockerVersion = "24.0.7"
		c.Container = fmt.Sprintf("%064x", hash64(spec.Repository)+uint64(spec.Seed))
		c.ContainerConfig = &containerCfg2{Hostname: "builder", Cmd: []string{"/bin/sh", "-c", "#(nop) CMD [\"serve\"]"}}
	}
	c.RootFS.Type = "layers"
	for i, l := range layers {
		c.RootFS.DiffIDs = append(c.RootFS.DiffIDs, l.diffID)
		c.History = append(c.History, imgspecv1.History{CreatedBy: fmt.Sprintf("COPY layer %d", i)})
	}
	b, _ := json.Marshal(c)
	return b
}

// pushImage pushes one single-platform image (no tag) and returns it.
func (r *Registry) pushImage(ctx context.Context, spec ImageSpec, p Platform, oci bool, salt string) (Pushed, error) {
	layers := layersFor(spec, salt)
	config := makeConfig(spec, p, layers, !oci)
	layerType, configType, manifestType := MediaTypeSchema2Layer, MediaTypeSchema2Config, MediaTypeSchema2
	if oci {
		layerType, configType, manifestType = imgspecv1.MediaTypeImageLayerGzip, imgspecv1.MediaTypeImageConfig, imgspecv1.MediaTypeImageManifest
	}
	out := Pushed{Repository: spec.Repository, MediaType: manifestType, Config: config, ConfigDigest: digest.FromBytes(config)}
	m := map[string]any{
		"schemaVersion": 2,
		"mediaType":     manifestType,
		"config":        imgspecv1.Descriptor{MediaType: configType, Digest: out.ConfigDigest, Size: int64(len(config))},
	}
	var descs []imgspecv1.Descriptor
	for _, l := range layers {
		if err := r.uploadBlob(ctx, spec.Repository, l.compressed); err != nil {
			return Pushed{}, err
		}
		d := imgspecv1.Descriptor{MediaType: layerType, Digest: digest.FromBytes(l.compressed), Size: int64(len(l.compressed))}
		descs = append(descs, d)
		out.Layers = append(out.Layers, LayerInfo{Digest: d.Digest, Size: d.Size, MediaType: layerType})
	}
	m["layers"] = descs
	if err := r.uploadBlob(ctx, spec.Repository, config); err != nil {
		return Pushed{}, err
	}
	raw, _ := json.Marshal(m)
	out.Manifest, out.Digest = raw, digest.FromBytes(raw)
	if err := r.putManifest(ctx, spec.Repository, out.Digest.String(), manifestType, raw); err != nil {
		return Pushed{}, err
	}
	return out, nil
}

// Push generates the image spec describes and pushes it under its tags.
func (r *Registry) Push(ctx context.Context, spec ImageSpec) (Pushed, error) {
	var out Pushed
	var err error
	switch spec.Format {
	case Schema2, OCI:
		out, err = r.pushImage(ctx, spec, Platform{Architecture: "amd64", OS: "linux"}, spec.Format == OCI, "")
	case DockerList, OCIIndex:
		out, err = r.pushList(ctx, spec)
	case Schema1:
		out, err = r.pushSchema1(ctx, spec)
	default:
		err = fmt.Errorf("unknown format %d", spec.Format)
	}
	if err != nil {
		return Pushed{}, fmt.Errorf("push %s (%s): %w", spec.Repository, spec.Format, err)
	}
	out.Tags = spec.Tags
	if spec.Format == Schema1 {
		return out, nil // the shim serves its tags
	}
	for _, tag := range spec.Tags {
		if err := r.putManifest(ctx, spec.Repository, tag, out.MediaType, out.Manifest); err != nil {
			return Pushed{}, fmt.Errorf("push %s:%s: %w", spec.Repository, tag, err)
		}
	}
	return out, nil
}

func (r *Registry) pushList(ctx context.Context, spec ImageSpec) (Pushed, error) {
	platforms := spec.Platforms
	if len(platforms) == 0 {
		platforms = []Platform{{Architecture: "amd64", OS: "linux"}, {Architecture: "arm64", OS: "linux", Variant: "v8"}}
	}
	oci := spec.Format == OCIIndex
	listType := MediaTypeDockerList
	if oci {
		listType = imgspecv1.MediaTypeImageIndex
	}
	out := Pushed{Repository: spec.Repository, MediaType: listType}
	var entries []imgspecv1.Descriptor
	for _, p := range platforms {
		child, err := r.pushImage(ctx, spec, p, oci, p.OS+"/"+p.Architecture+p.Variant)
		if err != nil {
			return Pushed{}, err
		}
		pc := p
		child.Platform = &pc
		out.Children = append(out.Children, child)
		entries = append(entries, imgspecv1.Descriptor{MediaType: child.MediaType, Digest: child.Digest, Size: int64(len(child.Manifest)),
			Platform: &imgspecv1.Platform{Architecture: p.Architecture, OS: p.OS, Variant: p.Variant}})
	}
	raw, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": listType, "manifests": entries})
	out.Manifest, out.Digest = raw, digest.FromBytes(raw)
	return out, r.putManifest(ctx, spec.Repository, out.Digest.String(), listType, raw)
}
