package catalog

import (
	imagev1 "github.com/openshift/api/image/v1"
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
