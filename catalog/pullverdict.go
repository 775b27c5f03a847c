package catalog

import (
	"fmt"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
)

// Pull verdicts follow containers/image, which never evaluates a policy on
// a manifest list: `copy` picks the platform instance and runs
// IsRunningImageAllowed on it alone (copy/single.go); copying every
// platform checks each instance (copy/multiple.go). A tag's pull verdict
// is therefore, for a single image, its (repository, image) verdict and,
// for a list, one over its platform instances in that repository
// (BuildKit attestation manifests are not instances: index_attestations.go):
//
//   - accepted: every instance is accepted (or has no policy);
//   - rejected: none is;
//   - partial: some are; the reason names the platforms that are;
//   - unevaluated: an instance could not be evaluated;
//   - "": signatures were never looked at for an instance.
//
// The list's own verdict and signatures stay recorded for what they are:
// who signed the index.

// VerdictPartial is the pull verdict of a list some of whose platform
// instances are accepted and some not.
const VerdictPartial Verdict = "partial"

// PullBlocks reports whether a pull verdict is a reason for exit code 4.
func PullBlocks(v Verdict) bool { return v == VerdictRejected || v == VerdictPartial }

// PullVerdictOf is the pull verdict of a tag: own is the (repository,
// image) verdict and reason of the image it names; instances are a list's
// packed instance verdicts (instanceVerdicts), "" for a single image.
func PullVerdictOf(own Verdict, ownReason, instances string) (Verdict, string) {
	if instances == "" {
		return own, ownReason
	}
	var accepted, refused, missing, unevaluated []string
	for _, item := range strings.Split(instances, PackedRecordSep) {
		v, platform, _ := strings.Cut(item, PackedUnitSep)
		switch Verdict(v) {
		case VerdictAccepted, VerdictNoPolicy:
			accepted = append(accepted, platform)
		case VerdictRejected:
			refused = append(refused, platform)
		case VerdictUnevaluated:
			unevaluated = append(unevaluated, platform)
		default:
			missing = append(missing, platform)
		}
	}
	n := len(accepted) + len(refused) + len(missing) + len(unevaluated)
	switch {
	case len(unevaluated) > 0:
		return VerdictUnevaluated, "not evaluated for " + strings.Join(unevaluated, ", ")
	case len(missing) > 0:
		return "", "signatures never looked at for " + strings.Join(missing, ", ")
	case len(refused) == 0:
		return VerdictAccepted, fmt.Sprintf("all %d platforms accepted", n)
	case len(accepted) == 0:
		return VerdictRejected, fmt.Sprintf("no platform accepted (%s rejected)", strings.Join(refused, ", "))
	default:
		return VerdictPartial, fmt.Sprintf("accepted for %s; rejected for %s", strings.Join(accepted, ", "), strings.Join(refused, ", "))
	}
}

// PullVerdict is a pull verdict with its reason.
type PullVerdict struct {
	Verdict Verdict
	Reason  string
}

// RepositoryPullVerdict is an image's pull verdict in one repository.
type RepositoryPullVerdict struct {
	Repository string
	Verdict    Verdict
	Reason     string
}

// ConditionPullVerdict is the condition an image stream's status tag
// carries for the pull verdict of its current image (pullverdict.go) in
// the repository it was imported from: status True when accepted, False
// when rejected or partial, Unknown otherwise; reason the verdict
// (Accepted, Rejected, Partial, Unevaluated, NoPolicy); message which
// platforms. Derived when the stream is read, never stored.
const ConditionPullVerdict imagev1.TagEventConditionType = "PullVerdict"

// IsDerivedCondition reports whether a status tag condition is derived from
// the verdicts when a stream is read (never stored, never compared).
func IsDerivedCondition(t imagev1.TagEventConditionType) bool {
	return t == ConditionSignatureVerified || t == ConditionPullVerdict
}

// AnnotationArtifactType is set on the Image of an OCI artifact (a Helm
// chart, a WASM module, ...): its artifactType, else its config media type.
const AnnotationArtifactType = "regimport.io/artifact-type"

// IndexAttestation is one in-toto statement of a BuildKit attestation
// manifest found in an OCI index, kept as an attestation of the image the
// manifest references (vnd.docker.reference.digest). The attestation
// manifest itself is not an image: no runtime pulls it, so it has no row of
// images, no verdict and no entry in the list's dockerImageManifests.
type IndexAttestation struct {
	Manifest string // digest of the attestation manifest
	Position int    // layer index in the attestation manifest
	Image    string // the image attested
	// InIndex is false when the referenced image is not an entry of the
	// index (recorded, and warned about, all the same).
	InIndex       bool
	PredicateType string
	// BuilderID and Materials are read from SLSA provenance (v0.2:
	// builder.id and materials; v1: runDetails.builder.id and
	// buildDefinition.resolvedDependencies).
	BuilderID string
	Materials []string
	// Readable is false when the statement could not be fetched, was not
	// JSON or was over its cap; Reason says which.
	Readable bool
	Reason   string
	Content  []byte // the statement as found, within its cap
}

// The separators of a list's packed instance verdicts, as the catalog's
// queries pack them for PullVerdictOf: "verdict US platform", joined by RS
// (ASCII's unit and record separators, which no verdict or platform holds).
const (
	PackedRecordSep = "\x1e"
	PackedUnitSep   = "\x1f"
)
