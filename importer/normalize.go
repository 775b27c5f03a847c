package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
	"unsafe"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/openshift/api/image/docker10"
	"github.com/openshift/api/image/dockerpre012"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/digests"
	"github.com/regimport/regimport/internal/jsoncodec"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/manifest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Schema1MediaType is how OpenShift labels every schema1 manifest, signed or not.
const Schema1MediaType = manifest.DockerV2Schema1MediaType

// schema1LayerMediaType is what OpenShift gives schema1 layers.
const schema1LayerMediaType = "application/vnd.docker.container.image.rootfs.diff+x-gtar"

// dockerImageTypeMeta is the TypeMeta of dockerImageMetadata on image.openshift.io/v1.
var dockerImageTypeMeta = metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"}

// Normalized is one manifest turned into an Image.
type Normalized struct {
	Image    *imagev1.Image
	Platform catalog.Platform
	// Nonconforming says why OpenShift's importer would refuse this
	// manifest (also in the NonconformingAnnotation); empty when it would not.
	Nonconforming []string
	// sizeKnown: the metadata's Size is not 0, so FillLayerSizes has
	// nothing to do (and need not decode the metadata again to see it).
	sizeKnown bool
	// indexed is what the catalog indexes of the metadata, from the
	// fields it was encoded from (catalog.ImageRecord.Indexed).
	indexed *catalog.IndexedMetadata
}

// ManifestKind sorts a manifest by how it is imported.
type ManifestKind int

const (
	// SingleImage has a config (schema2, OCI) or v1 history (schema1).
	SingleImage ManifestKind = iota
	// ImageList is a Docker manifest list or an OCI index.
	ImageList
)

// KindOf classifies a served manifest and rejects media types OpenShift cannot import.
func KindOf(mediaType string) (ManifestKind, error) {
	switch mediaType {
	case manifest.DockerV2ListMediaType, imgspecv1.MediaTypeImageIndex:
		return ImageList, nil
	case manifest.DockerV2Schema2MediaType, imgspecv1.MediaTypeImageManifest,
		manifest.DockerV2Schema1MediaType, manifest.DockerV2Schema1SignedMediaType:
		return SingleImage, nil
	}
	return 0, fmt.Errorf("unsupported manifest media type %q", mediaType)
}

// untrustedManifest is the union of schema2 and OCI image manifests; names
// say the content is as served and not yet validated.
type untrustedManifest struct {
	SchemaVersion int                    `json:"schemaVersion"`
	MediaType     string                 `json:"mediaType,omitempty"`
	Config        imgspecv1.Descriptor   `json:"config"`
	Layers        []imgspecv1.Descriptor `json:"layers"`
	// Signatures are schema1's; in another manifest, a value that is not
	// an array turns the conformance check off (see schema2Conformance).
	Signatures laxField[[]json.RawMessage] `json:"signatures"`
}

// ConfigDescriptor returns the config a schema2/OCI manifest needs, or an
// empty descriptor for schema1.
func ConfigDescriptor(raw []byte, mediaType string) (imgspecv1.Descriptor, error) {
	m, err := ParseImageManifest(raw, mediaType)
	if err != nil {
		return imgspecv1.Descriptor{}, err
	}
	return m.Config(), nil
}

// ImageManifest is a single-image manifest as served, parsed once for both
// the config lookup and normalization (parsing is most of an import's CPU
// after SQLite).
type ImageManifest struct {
	raw       []byte
	mediaType string
	parsed    *untrustedManifest // nil for schema1, which Normalize reads itself
	// share: the Image's manifest and config strings use the bytes given
	// rather than copies (fetchedBytes).
	share bool
}

// parseFetchedManifest is ParseImageManifest for a manifest as the registry
// client returned it: its bytes, and the config's, are never written
// again, so the Image shares them instead of copying (fetchedBytes).
func parseFetchedManifest(m *registry.Manifest) (*ImageManifest, error) {
	pm, err := ParseImageManifest(m.Bytes, m.MediaType)
	if pm != nil {
		pm.share = true
	}
	return pm, err
}

// fetchedBytes is b as a string. With share, the string is b's own memory,
// not a copy: every manifest and config would otherwise be held twice
// until its image is written (the bytes in the run's caches, the copy in
// the Image). Only for bytes nobody writes again, which registry.Manifest
// bytes and fetched config blobs are (they are shared read-only across
// targets already).
func fetchedBytes(b []byte, share bool) string {
	if !share || len(b) == 0 {
		return string(b)
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// ParseImageManifest checks a schema2/OCI manifest's structure; schema1 is
// checked when normalized.
func ParseImageManifest(raw []byte, mediaType string) (*ImageManifest, error) {
	m := &ImageManifest{raw: raw, mediaType: mediaType}
	if isSchema1(mediaType) {
		return m, nil
	}
	var err error
	m.parsed, err = parseImageManifest(raw)
	return m, err
}

// Config is the config blob the manifest needs (empty for schema1).
func (m *ImageManifest) Config() imgspecv1.Descriptor {
	if m.parsed == nil {
		return imgspecv1.Descriptor{}
	}
	return m.parsed.Config
}

func isSchema1(mediaType string) bool {
	return mediaType == manifest.DockerV2Schema1MediaType || mediaType == manifest.DockerV2Schema1SignedMediaType
}

func parseImageManifest(raw []byte) (*untrustedManifest, error) {
	var m untrustedManifest
	if err := jsoncodec.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest has schemaVersion %d, want 2", m.SchemaVersion)
	}
	if err := digests.Validate(m.Config.Digest); err != nil {
		return nil, fmt.Errorf("manifest config digest %q: %w", m.Config.Digest, err)
	}
	for i, l := range m.Layers {
		if err := digests.Validate(l.Digest); err != nil {
			return nil, fmt.Errorf("manifest layer %d digest %q: %w", i, l.Digest, err)
		}
		if l.Size < 0 {
			return nil, fmt.Errorf("manifest layer %d has negative size %d", i, l.Size)
		}
	}
	return &m, nil
}

// NormalizeImage builds the Image of a single-image manifest as OpenShift
// does: name = manifest digest, dockerImageReference = repository@digest,
// layers base first, dockerImageMetadata from the config (schema2/OCI) or the
// newest v1Compatibility entry (schema1), Size = config length + unique layer
// sizes. repository is the repository as the user wrote it, without tag.
func NormalizeImage(repository string, raw []byte, mediaType string, dgst digest.Digest, config []byte) (*Normalized, error) {
	m, err := ParseImageManifest(raw, mediaType)
	if err != nil {
		return nil, err
	}
	return m.Normalize(repository, dgst, config)
}

// Normalize is NormalizeImage for a manifest already parsed.
func (m *ImageManifest) Normalize(repository string, dgst digest.Digest, config []byte) (*Normalized, error) {
	raw, mediaType := m.raw, m.mediaType
	// JSON is UTF-8 (RFC 8259); Go would quietly replace bad bytes when
	// serving, and the served manifest would no longer match its digest.
	if !utf8.Valid(raw) {
		return nil, errors.New("manifest is not valid UTF-8")
	}
	if !utf8.Valid(config) {
		return nil, errors.New("image config is not valid UTF-8")
	}
	img := &imagev1.Image{
		TypeMeta:                   metav1.TypeMeta{Kind: "Image", APIVersion: imagev1.GroupVersion.String()},
		ObjectMeta:                 metav1.ObjectMeta{Name: dgst.String(), Annotations: map[string]string{imagev1.DockerImageLayersOrderAnnotation: imagev1.DockerImageLayersOrderAscending}},
		DockerImageReference:       repository + "@" + dgst.String(),
		DockerImageMetadataVersion: "1.0",
		DockerImageManifest:        fetchedBytes(raw, m.share),
	}
	var meta docker10.DockerImage
	var platform catalog.Platform
	var reasons []string
	var err error
	if isSchema1(mediaType) {
		img.DockerImageManifestMediaType = Schema1MediaType
		meta, platform, img.DockerImageLayers, err = fromSchema1(raw)
		reasons = conformance(raw, mediaType, nil)
	} else {
		img.DockerImageConfig = fetchedBytes(config, m.share)
		var doc *configDoc
		meta, platform, img.DockerImageLayers, img.DockerImageManifestMediaType, doc, err = fromSchema2(m.parsed, mediaType, config)
		if err == nil {
			reasons = schema2Conformance(m.parsed, mediaType, config, doc)
		}
	}
	if err != nil {
		return nil, err
	}
	meta.TypeMeta = dockerImageTypeMeta
	if img.DockerImageMetadata.Raw, err = jsoncodec.Marshal(meta); err != nil {
		return nil, fmt.Errorf("encode dockerImageMetadata: %w", err)
	}
	markNonconforming(img, reasons)
	return &Normalized{Image: img, Platform: platform, Nonconforming: reasons, sizeKnown: meta.Size != 0,
		indexed: catalog.NewIndexedMetadata(meta.Architecture, meta.Created.Time, meta.Size)}, nil
}

// untrustedConfig adds the platform fields the Docker 1.0 schema drops.
type untrustedConfig struct {
	dockerpre012.DockerImage
	OS      string `json:"os"`
	Variant string `json:"variant"`
	// SchemaVersion and Manifests are in manifests and indexes, never in a
	// config: a "config" that has them is another document served in its
	// place (a crafted index can name one child's manifest as another
	// child's config, and the registry serves those bytes as a blob).
	SchemaVersion json.RawMessage `json:"schemaVersion"`
	Manifests     json.RawMessage `json:"manifests"`
}

// fromSchema2 reads a schema2/OCI image: its metadata from the config,
// which is decoded once (configDoc) for the metadata and the conformance
// check both.
func fromSchema2(m *untrustedManifest, servedType string, config []byte) (docker10.DockerImage, catalog.Platform, []imagev1.ImageLayer, string, *configDoc, error) {
	var meta docker10.DockerImage
	mediaType := m.MediaType
	if mediaType == "" {
		mediaType = servedType
	}
	if len(config) == 0 {
		return meta, catalog.Platform{}, nil, "", nil, fmt.Errorf("dockerImageConfig must not be empty for manifest type %q", mediaType)
	}
	if got := digests.FromBytes(digest.Canonical, config); m.Config.Digest.Algorithm() == digest.SHA256 && got != m.Config.Digest {
		return meta, catalog.Platform{}, nil, "", nil, fmt.Errorf("content integrity error: config %s hashes to %s", m.Config.Digest, got)
	}
	doc, err := decodeConfig(config)
	if err != nil {
		return meta, catalog.Platform{}, nil, "", nil, fmt.Errorf("failed to parse dockerImageConfig: %w", err)
	}
	c := &doc.untrustedConfig
	if c.SchemaVersion != nil || c.Manifests != nil {
		return meta, catalog.Platform{}, nil, "", nil, fmt.Errorf("config %s is a manifest, not an image config (it has schemaVersion or manifests)", m.Config.Digest)
	}
	c.DockerImage.Created = doc.Created.t
	meta = dockerImageOf(c.DockerImage, m.Config.Digest.String())
	layers := make([]imagev1.ImageLayer, len(m.Layers))
	for i, l := range m.Layers {
		layers[i] = imagev1.ImageLayer{Name: l.Digest.String(), LayerSize: l.Size, MediaType: l.MediaType}
	}
	meta.Size = int64(len(config)) + uniqueSize(layers, m.Config.Digest.String())
	return meta, catalog.Platform{Architecture: c.Architecture, OS: c.OS, Variant: c.Variant}, layers, mediaType, doc, nil
}

// uniqueSize sums layer sizes counting each digest once (and never the config's).
func uniqueSize(layers []imagev1.ImageLayer, exclude string) int64 {
	seen := map[string]bool{exclude: exclude != ""}
	var total int64
	for _, l := range layers {
		if seen[l.Name] {
			continue
		}
		seen[l.Name] = true
		total += l.LayerSize
	}
	return total
}

type untrustedSchema1 struct {
	SchemaVersion int `json:"schemaVersion"`
	FSLayers      []struct {
		BlobSum digest.Digest `json:"blobSum"`
	} `json:"fsLayers"`
	History []struct {
		V1Compatibility string `json:"v1Compatibility"`
	} `json:"history"`
}

type v1Compatibility struct {
	dockerpre012.DockerImage
	OS   string `json:"os"`
	Size int64  `json:"Size"`
}

func fromSchema1(raw []byte) (docker10.DockerImage, catalog.Platform, []imagev1.ImageLayer, error) {
	var meta docker10.DockerImage
	var m untrustedSchema1
	if err := json.Unmarshal(raw, &m); err != nil {
		return meta, catalog.Platform{}, nil, fmt.Errorf("manifest is not valid JSON: %w", err)
	}
	if m.SchemaVersion != 1 {
		return meta, catalog.Platform{}, nil, fmt.Errorf("schema1 manifest has schemaVersion %d", m.SchemaVersion)
	}
	if len(m.History) == 0 {
		return meta, catalog.Platform{}, nil, errors.New("schema1 manifest has no history")
	}
	if len(m.History) != len(m.FSLayers) {
		return meta, catalog.Platform{}, nil, fmt.Errorf("schema1 manifest has mismatched history and fsLayers (%d != %d)", len(m.History), len(m.FSLayers))
	}
	// fsLayers and history are newest first; the Image lists layers base first.
	n := len(m.FSLayers)
	layers := make([]imagev1.ImageLayer, n)
	for i := range m.FSLayers {
		if err := m.FSLayers[i].BlobSum.Validate(); err != nil {
			return meta, catalog.Platform{}, nil, fmt.Errorf("schema1 fsLayer %d: %w", i, err)
		}
		var size struct {
			Size int64 `json:"Size"`
		}
		_ = json.Unmarshal([]byte(m.History[i].V1Compatibility), &size) // a missing size is 0, as in OpenShift
		layers[n-1-i] = imagev1.ImageLayer{Name: m.FSLayers[i].BlobSum.String(), LayerSize: size.Size, MediaType: schema1LayerMediaType}
	}
	var v1 v1Compatibility
	if err := json.Unmarshal([]byte(m.History[0].V1Compatibility), &v1); err != nil {
		return meta, catalog.Platform{}, nil, fmt.Errorf("schema1 history[0].v1Compatibility: %w", err)
	}
	meta = dockerImageOf(v1.DockerImage, v1.ID)
	meta.Size = uniqueSize(layers, "")
	return meta, catalog.Platform{Architecture: v1.Architecture, OS: v1.OS}, layers, nil
}

// dockerImageOf converts a config (or schema1 v1Compatibility entry) to the
// DockerImage 1.0 metadata OpenShift serves, with the given Id; Size is the
// caller's to compute.
func dockerImageOf(c dockerpre012.DockerImage, id string) docker10.DockerImage {
	meta := docker10.DockerImage{
		ID:              id,
		Parent:          c.Parent,
		Comment:         c.Comment,
		Created:         c.Created,
		Container:       c.Container,
		ContainerConfig: docker10.DockerConfig(c.ContainerConfig),
		DockerVersion:   c.DockerVersion,
		Author:          c.Author,
		Architecture:    c.Architecture,
	}
	if c.Config != nil {
		cfg := docker10.DockerConfig(*c.Config)
		meta.Config = &cfg
	}
	return meta
}

// untrustedIndex is a Docker manifest list or an OCI index.
type untrustedIndex struct {
	SchemaVersion int                    `json:"schemaVersion"`
	MediaType     string                 `json:"mediaType,omitempty"`
	Manifests     []imgspecv1.Descriptor `json:"manifests"`
}

// ParseList returns the entries of a manifest list or OCI index.
func ParseList(raw []byte) ([]imgspecv1.Descriptor, error) {
	var idx untrustedIndex
	if err := jsoncodec.Unmarshal(raw, &idx); err != nil {
		return nil, fmt.Errorf("manifest list is not valid JSON: %w", err)
	}
	if idx.SchemaVersion != 2 {
		return nil, fmt.Errorf("manifest list has schemaVersion %d, want 2", idx.SchemaVersion)
	}
	for i, d := range idx.Manifests {
		if err := digests.Validate(d.Digest); err != nil {
			return nil, fmt.Errorf("manifest list entry %d digest %q: %w", i, d.Digest, err)
		}
	}
	return idx.Manifests, nil
}

// NormalizeList builds the Image of a manifest list imported whole
// (PreserveOriginal): no layers, no annotations, one dockerImageManifests
// entry per child, and, as OpenShift does, Id = the list's own digest and
// Created = the import time.
func NormalizeList(repository string, raw []byte, mediaType string, dgst digest.Digest, now time.Time) (*Normalized, error) {
	return normalizeList(repository, raw, mediaType, dgst, now, false)
}

// normalizeList is NormalizeList; with share, the Image shares raw (see
// fetchedBytes).
func normalizeList(repository string, raw []byte, mediaType string, dgst digest.Digest, now time.Time, share bool) (*Normalized, error) {
	if !utf8.Valid(raw) {
		return nil, errors.New("manifest list is not valid UTF-8")
	}
	entries, err := ParseList(raw)
	if err != nil {
		return nil, err
	}
	meta := docker10.DockerImage{TypeMeta: dockerImageTypeMeta, ID: dgst.String(), Created: metav1.NewTime(now)}
	img := &imagev1.Image{
		TypeMeta:                     metav1.TypeMeta{Kind: "Image", APIVersion: imagev1.GroupVersion.String()},
		ObjectMeta:                   metav1.ObjectMeta{Name: dgst.String()},
		DockerImageReference:         repository + "@" + dgst.String(),
		DockerImageMetadata:          runtime.RawExtension{},
		DockerImageMetadataVersion:   "1.0",
		DockerImageManifest:          fetchedBytes(raw, share),
		DockerImageManifestMediaType: mediaType,
	}
	for _, e := range imageEntries(entries) { // BuildKit attestations are not images (buildkit.go)
		m := imagev1.ImageManifest{Digest: e.Digest.String(), MediaType: e.MediaType, ManifestSize: e.Size}
		if e.Platform != nil {
			m.Architecture, m.OS, m.Variant = e.Platform.Architecture, e.Platform.OS, e.Platform.Variant
		}
		img.DockerImageManifests = append(img.DockerImageManifests, m)
	}
	if img.DockerImageMetadata.Raw, err = jsoncodec.Marshal(meta); err != nil {
		return nil, fmt.Errorf("encode dockerImageMetadata: %w", err)
	}
	reasons := conformance(raw, mediaType, nil)
	markNonconforming(img, reasons)
	return &Normalized{Image: img, Nonconforming: reasons, indexed: catalog.NewIndexedMetadata(meta.Architecture, meta.Created.Time, meta.Size)}, nil
}

// FillLayerSizes is OpenShift's calculateImageSize, which its importer runs
// when an image's Size came out 0 (a schema1 manifest whose v1Compatibility
// entries carry no sizes): each unique layer's size is asked of the
// registry (sizeOf), every layer gets its size, and Size becomes the sum
// of the unique layers (plus the config's length, which schema1 has none
// of). An image whose Size is already known is left alone; a size the
// registry cannot tell fails the image, as it does in OpenShift.
func FillLayerSizes(img *imagev1.Image, sizeOf func(digest.Digest) (int64, error)) error {
	var meta docker10.DockerImage
	if err := json.Unmarshal(img.DockerImageMetadata.Raw, &meta); err != nil {
		return fmt.Errorf("dockerImageMetadata: %w", err)
	}
	if meta.Size != 0 || len(img.DockerImageLayers) == 0 {
		return nil
	}
	sizes := map[string]int64{}
	var total int64
	for i := range img.DockerImageLayers {
		l := &img.DockerImageLayers[i]
		n, seen := sizes[l.Name]
		if !seen {
			var err error
			if n, err = sizeOf(digest.Digest(l.Name)); err != nil {
				return fmt.Errorf("size of layer %s: %w", l.Name, err)
			}
			sizes[l.Name] = n
			total += n
		}
		l.LayerSize = n
	}
	if img.DockerImageConfig != "" {
		total += int64(len(img.DockerImageConfig))
	}
	meta.Size = total
	raw, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("encode dockerImageMetadata: %w", err)
	}
	img.DockerImageMetadata.Raw = raw
	return nil
}
