package testregistry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/fnv"
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
	switch f {
	case Schema2:
		return "schema2"
	case OCI:
		return "oci"
	case DockerList:
		return "docker-list"
	case OCIIndex:
		return "oci-index"
	case Schema1:
		return "schema1"
	}
	return fmt.Sprintf("format(%d)", int(f))
}

// Media types written. The OCI ones are imgspecv1's constants.
const (
	MediaTypeSchema2       = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeSchema2Config = "application/vnd.docker.container.image.v1+json"
	MediaTypeSchema2Layer  = "application/vnd.docker.image.rootfs.diff.tar.gzip"
	MediaTypeDockerList    = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws"
	// MediaTypeSchema1Layer is what OpenShift (and docker/distribution's
	// schema1 package) call a schema1 layer, which carries no media type itself.
	MediaTypeSchema1Layer = "application/vnd.docker.container.image.rootfs.diff+x-gtar"
)

// Platform of an image.
type Platform struct {
	Architecture, OS, Variant string
}

func (p Platform) String() string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// DefaultPlatforms are a list's children when ImageSpec.Platforms is empty.
func DefaultPlatforms() []Platform {
	return []Platform{{Architecture: "amd64", OS: "linux"}, {Architecture: "arm64", OS: "linux", Variant: "v8"}}
}

// ImageSpec describes an image to generate and push.
type ImageSpec struct {
	Repository string   // "library/app"
	Tags       []string // tags for the same manifest (none: pushed by digest only)
	Format     Format
	// Platforms of a list's children (default DefaultPlatforms); a single
	// image is built for Platforms[0] when set, else linux/amd64.
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
	// that many per repository, as real repositories share layers; SeedMixed
	// uses it to stay fast and realistic.
	LayerPool int
	// Base is the image this one is built on, FROM in a Dockerfile: its
	// layers, as Push makes them for Base, come first, then this image's
	// own Layers. A list's children take the layers of Base's children of
	// the same platform, so Base must be a list of the same platforms (or
	// a single image, for a single image).
	Base *ImageSpec
	// Annotations go into an OCI manifest's annotations (Docker's schema 2
	// has none), e.g. org.opencontainers.image.base.name.
	Annotations map[string]string
	// Schema1WithoutSizes writes schema1 v1Compatibility entries without
	// sizes, as some old registries' conversions did.
	Schema1WithoutSizes bool
}

func (s ImageSpec) created() time.Time {
	if !s.Created.IsZero() {
		return s.Created.UTC()
	}
	return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(s.Seed) * time.Second)
}

func (s ImageSpec) layerCount() int {
	if s.Layers <= 0 {
		return 2
	}
	return s.Layers
}

func (s ImageSpec) platform() Platform {
	if len(s.Platforms) > 0 {
		return s.Platforms[0]
	}
	return Platform{Architecture: "amd64", OS: "linux"}
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
	Manifest     []byte        // exactly as the registry serves it
	ConfigDigest digest.Digest // empty for lists and schema1
	Config       []byte
	// Layers in manifest order, except schema1: base first (the reverse of
	// its fsLayers), which is the order importers store.
	Layers   []LayerInfo
	Children []Pushed // lists: one per platform, in list order
	Platform *Platform
}

// layer is one generated layer blob.
type layer struct {
	key        string
	compressed []byte
	blobSum    digest.Digest // of the compressed bytes: the blob's name
	diffID     digest.Digest // of the uncompressed tar, as rootfs.diff_ids wants
}

func (l layer) digest() digest.Digest { return l.blobSum }

// layerEpoch is the mtime in every tar and gzip header, so that digests do
// not depend on the clock.
const layerEpoch = 1700000000

// makeLayer builds a small gzip'd tar whose bytes depend only on key: a
// directory and a file of a few hundred pseudo-random bytes, so that gzip
// cannot shrink it to nothing and sizes differ between layers.
func makeLayer(key string) layer {
	h := hash64(key)
	rng := rand.New(rand.NewPCG(h, h^0x9e3779b97f4a7c15))
	content := make([]byte, 200+rng.IntN(300))
	for i := range content {
		content[i] = byte(rng.Uint32())
	}
	dir := fmt.Sprintf("opt/l%016x/", h)
	mtime := time.Unix(layerEpoch, 0)
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	// Writes to a bytes.Buffer cannot fail and the headers are valid, so the
	// errors below are impossible; the content is checked by the tests.
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX})
	_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: dir + "data.bin", Mode: 0o644, Size: int64(len(content)), ModTime: mtime, Format: tar.FormatPAX})
	_, _ = tw.Write(content)
	_ = tw.Close()
	return gzipLayer(key, tarBuf.Bytes())
}

// gzipLayer compresses a tar with a fixed header time (gzip's default is the clock).
func gzipLayer(key string, tarBytes []byte) layer {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed) // a valid level: no error
	zw.ModTime = time.Unix(layerEpoch, 0)
	_, _ = zw.Write(tarBytes)
	_ = zw.Close()
	return layer{key: key, compressed: gz.Bytes(), blobSum: digest.FromBytes(gz.Bytes()), diffID: digest.FromBytes(tarBytes)}
}

func hash64(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// layerKeys names the layers of one image; salt tells a list's children apart.
// Keys shared by many images (base, pool) are built once per Registry.
func layerKeys(spec ImageSpec, salt string) (keys []string, shared []bool) {
	n := spec.layerCount()
	for i := range n {
		key, isShared := fmt.Sprintf("%s/%d/%s/%d", spec.Repository, spec.Seed, salt, i), false
		switch {
		case i == 0 && spec.SharedBaseLayer:
			key, isShared = "shared-base", true
		case spec.LayerPool > 0:
			slot := (uint64(spec.Seed) + uint64(i)*7 + hash64(salt)) % uint64(spec.LayerPool)
			key, isShared = fmt.Sprintf("%s/pool/%d/%d", spec.Repository, i, slot), true
		}
		keys = append(keys, key)
		shared = append(shared, isShared)
	}
	return keys, shared
}

// layersFor builds (or takes from the Registry's cache) the layers of one image.
func (r *Registry) layersFor(spec ImageSpec, salt string) []layer {
	keys, shared := layerKeys(spec, salt)
	var out []layer
	if spec.Base != nil {
		out = r.layersFor(*spec.Base, salt) // the same bytes as the base's own
	}
	for i, key := range keys {
		if shared[i] {
			out = append(out, r.layerNamed(key, makeLayer))
		} else {
			out = append(out, makeLayer(key)) // used once: caching it would only grow memory
		}
	}
	return out
}

// layerNamed builds a layer shared by many images once per Registry.
func (r *Registry) layerNamed(key string, build func(string) layer) layer {
	if l, ok := r.layers.Load(key); ok {
		return l.(layer)
	}
	l, _ := r.layers.LoadOrStore(key, build(key))
	return l.(layer)
}

// makeEmptyLayer is an empty tar (just its end-of-archive blocks), which
// Docker used as the blob of schema1's metadata-only ("throwaway") entries.
func makeEmptyLayer(key string) layer {
	var tarBuf bytes.Buffer
	_ = tar.NewWriter(&tarBuf).Close()
	return gzipLayer(key, tarBuf.Bytes())
}

// descriptor is a Docker-style descriptor: Docker writes mediaType, size, digest in that order.
type descriptor struct {
	MediaType string             `json:"mediaType"`
	Size      int64              `json:"size"`
	Digest    digest.Digest      `json:"digest"`
	Platform  *dockerPlatformRef `json:"platform,omitempty"`
}

type dockerPlatformRef struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type dockerManifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        *descriptor  `json:"config,omitempty"`
	Layers        []descriptor `json:"layers,omitempty"`
	Manifests     []descriptor `json:"manifests,omitempty"`
}

// ociDescriptor keeps the OCI spec's platform struct for index entries.
func ociDescriptor(mediaType string, d digest.Digest, size int64, p *Platform) imgspecv1.Descriptor {
	desc := imgspecv1.Descriptor{MediaType: mediaType, Digest: d, Size: size}
	if p != nil {
		desc.Platform = &imgspecv1.Platform{Architecture: p.Architecture, OS: p.OS, Variant: p.Variant}
	}
	return desc
}

// Count counts the distinct manifests pushed (lists and their children,
// each once) and the tags they were pushed under.
func Count(pushed []Pushed) (images, tags int) {
	seen := map[digest.Digest]bool{}
	var walk func(p Pushed)
	walk = func(p Pushed) {
		if !seen[p.Digest] {
			seen[p.Digest] = true
			images++
		}
		for _, c := range p.Children {
			walk(c)
		}
	}
	for _, p := range pushed {
		walk(p)
		tags += len(p.Tags)
	}
	return images, tags
}
