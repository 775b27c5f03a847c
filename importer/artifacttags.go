package importer

import (
	"regexp"
	"strings"
)

// artifactTag matches the tags that hold signatures and attestations of
// another manifest rather than an image: cosign's sha256-<hex>.sig, .att
// and .sbom, and the OCI 1.1 referrers tag schema's sha256-<hex> index.
var artifactTag = regexp.MustCompile(`^sha256-[0-9a-f]{64}(\.(sig|att|sbom))?$`)

// IsArtifactTag reports whether a tag names a signature or attestation
// artifact of its subject (sha256-<hex>[.sig|.att|.sbom]). Such tags are not
// imported as images (unless asked), and never count as tags added to or
// removed from a repository.
func IsArtifactTag(tag string) bool {
	// Every tag of a listing is asked about, twice; most are not even close.
	return strings.HasPrefix(tag, "sha256-") && artifactTag.MatchString(tag)
}

// withoutArtifactTags splits a repository's tag list into image tags and
// artifact tags, keeping the order of each.
func withoutArtifactTags(tags []string) (images, artifacts []string) {
	images = tags[:0:0]
	for _, t := range tags {
		if IsArtifactTag(t) {
			artifacts = append(artifacts, t)
		} else {
			images = append(images, t)
		}
	}
	return images, artifacts
}
