package catalog

import (
	"encoding/json"
	"fmt"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageRecord is one normalized image for the Writer.
type ImageRecord struct {
	// Image is the normalized object. Server-assigned fields (uid,
	// resourceVersion, creationTimestamp) are ignored and assigned here.
	// DockerImageManifest and DockerImageConfig carry the raw bytes as served;
	// DockerImageReference is spelled as the user wrote it.
	Image *imagev1.Image
	// LookupReference is the normalized repository@digest the catalog keys
	// lookups and reports on ("" when it is DockerImageReference itself).
	LookupReference string
	// ConfigMediaType is the media type of the config blob, if any.
	ConfigMediaType string
	// OS and Variant are platform facts that the wire schema drops but audits need.
	OS, Variant string
	// Verification is the policy's verdict and the signatures found; nil
	// when signatures were not looked at.
	Verification *Verification
	// IndexAttestations are a list's BuildKit attestations (index_attestations.go).
	IndexAttestations []IndexAttestation
	// ArtifactType is set for an OCI artifact, not a runnable image (artifacts.go).
	ArtifactType string
	// Indexed is what the catalog indexes of Image.DockerImageMetadata,
	// from a caller that built that metadata and so has it at hand (the
	// importer); it must equal IndexMetadata of it. nil makes the catalog
	// decode dockerImageMetadata itself.
	Indexed *IndexedMetadata
	// ConfigDigest is the sha256 digest of Image.DockerImageConfig, from a
	// caller that has it at hand because it checked the config against it
	// (the importer); "" makes the catalog hash the config itself.
	ConfigDigest string
}

// IndexedMetadata is the part of dockerImageMetadata the catalog indexes.
type IndexedMetadata struct {
	Architecture string
	// Created is to the second, as dockerImageMetadata holds it; zero
	// when it has none.
	Created time.Time
	Size    int64
}

// IndexMetadata decodes the fields of dockerImageMetadata the catalog indexes.
func IndexMetadata(raw []byte) (IndexedMetadata, error) {
	var m struct {
		Architecture string      `json:"Architecture"`
		Created      metav1.Time `json:"Created"`
		Size         int64       `json:"Size"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return IndexedMetadata{}, fmt.Errorf("dockerImageMetadata: %w", err)
	}
	return IndexedMetadata{Architecture: m.Architecture, Created: m.Created.Time, Size: m.Size}, nil
}

// NewIndexedMetadata is what IndexMetadata gives of dockerImageMetadata
// built from these fields: Created to the second, as metav1.Time's JSON
// holds it. nil when created is outside the years 0-9999, which that JSON
// cannot spell so that it reads back; the catalog then decodes the
// metadata itself (and refuses it).
func NewIndexedMetadata(architecture string, created time.Time, size int64) *IndexedMetadata {
	m := &IndexedMetadata{Architecture: architecture, Size: size}
	if created.IsZero() {
		return m
	}
	if y := created.UTC().Year(); y < 0 || y > 9999 {
		return nil
	}
	m.Created = created.Truncate(time.Second)
	return m
}

// TagRecord says that a repository's tag pointed at an image in this run.
type TagRecord struct {
	Repository           string // host/path as the user wrote it
	Tag                  string
	Image                string // the image name (manifest digest)
	DockerImageReference string // repository@digest
}

// Outcome is what a write did.
type Outcome int

const (
	// Unchanged means the catalog already held exactly this.
	Unchanged Outcome = iota
	// Created means a new row (a new image, or a tag seen for the first time).
	Created
	// Updated means an existing row changed (a tag moved to another digest).
	Updated
)

func (o Outcome) String() string {
	switch o {
	case Created:
		return "created"
	case Updated:
		return "updated"
	default:
		return "unchanged"
	}
}
