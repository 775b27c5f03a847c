package catalog

import imagev1 "github.com/openshift/api/image/v1"

// Annotations carrying the policy's verdict on served images.
const (
	AnnotationSignatureVerdict = "regimport.io/signature-verdict"
	AnnotationSignatureReason  = "regimport.io/signature-reason"
)

// SignatureRecord is one signature of an image: the raw material, kept so
// that `regimport verify` can check it again offline, and the verified result.
type SignatureRecord struct {
	Source, Type      string
	Content           []byte
	SigstoreSignature string
	Certificate       string
	Chain             string
	Bundle            string
	// Object is the ImageSignature as served (name, conditions, claims).
	Object imagev1.ImageSignature
	// Evidence is who signed it, when and on what evidence (evidence.go).
	Evidence SignatureEvidence
}

// Verification is one repository's policy answer for an image and the
// signatures found in that repository.
type Verification struct {
	// Repository is where the signatures were looked up (host/path).
	Repository string
	Verdict    Verdict
	Reason     string
	Signatures []SignatureRecord
	// Attestations found as referrers (attestations.go); stored when
	// ReferrersChecked, which says the referrers were looked up at all.
	Attestations     []AttestationRecord
	ReferrersChecked bool
}

// Verdict is a signature verdict: the policy's answer for a (repository,
// image) pair, or an image's summary over its repositories. It is
// declared here, once; package signatures gives its answers in it.
type Verdict string

// Verdicts.
const (
	VerdictAccepted Verdict = "accepted"
	VerdictRejected Verdict = "rejected"
	VerdictNoPolicy Verdict = "no-policy" // verified without a policy
	// VerdictUnevaluated: the repository's signatures could not be fetched
	// (5xx, timeout, corrupt blob); the reason says why. Never accepted.
	VerdictUnevaluated Verdict = "unevaluated"
	// VerdictMixed summarizes an image whose repositories disagree.
	VerdictMixed Verdict = "mixed"
)

// Annotations of the per-repository detail.
const (
	// AnnotationSignatureVerdicts on an Image: JSON object repository ->
	// "verdict" or "verdict: reason", one entry per repository evaluated.
	AnnotationSignatureVerdicts = "regimport.io/signature-verdicts"
	// AnnotationSignatureRepository on an ImageSignature: the repository it was found in.
	AnnotationSignatureRepository = "regimport.io/repository"
)

// PairVerdict is the stored verdict of one (repository, image) pair.
type PairVerdict struct {
	Repository, Image string
	Verdict           Verdict
	Reason            string
	// Migrated: copied from an older catalog's per-image verdict, never
	// looked up for this repository.
	Migrated bool
}

// ConditionSignatureVerified is the condition an image stream's status tag
// carries for the signature verdict of its current image in the
// repository it was imported from (the repository of the item's
// dockerImageReference): status True when accepted, False when rejected,
// Unknown otherwise; reason the verdict (Accepted, Rejected, Unevaluated,
// NoPolicy); message the policy's reason. It is derived when the stream is
// read, never stored.
const ConditionSignatureVerified imagev1.TagEventConditionType = "SignatureVerified"
