package query

import (
	"time"

	"github.com/regimport/regimport/catalog"
)

// The rows the report queries return. They are declared once, here, with
// the JSON names of the report (`regimport report --format json`, layout
// regimport.io/report/v1): package report writes them as they are and
// names them in its Document (report/types.go). A column added to a query
// is added to its row here, to the Scan of the query, and to the report's
// CSV and Markdown tables; the JSON follows from the tag. Within v1, no
// field is renamed, retyped or removed. Lists are written [] when empty
// (the report sees to that), optional scalars null. Times are UTC.

// ReportImage is one inventory row: an image under one tag of a
// repository, or under no tag (Tag "") when no tag of that repository
// points at it.
type ReportImage struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"` // "" for an untagged image
	Digest     string `json:"digest"`
	MediaType  string `json:"mediaType"`
	Kind       string `json:"kind"` // image, list
	// Architecture, OS and Variant are the image's platform ("" for lists).
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant"`
	// Platforms are a list's entries, as os/architecture[/variant].
	Platforms []string `json:"platforms"`
	// Created is the build time the image config states (null for lists
	// and when absent).
	Created          *time.Time `json:"created"`
	Size             int64      `json:"size"`
	Layers           int        `json:"layers"`
	SignatureVerdict string     `json:"signatureVerdict"` // accepted, rejected, no-policy, "" = never evaluated
	SignatureReason  string     `json:"signatureReason"`
	// PullVerdict is the tag's pull verdict (pullverdict.go): a list's over
	// its platform instances in this repository; accepted, rejected,
	// partial, unevaluated, no-policy or "" (never evaluated).
	PullVerdict string `json:"pullVerdict"`
	PullReason  string `json:"pullReason"`
	// ArtifactType is an artifact's type (kind artifact): artifactType,
	// else its config media type.
	ArtifactType string `json:"artifactType"`
	// SignatureStatus is signed, unsigned (looked for, none found) or
	// not-evaluated (never looked for): StatusSigned and its kin.
	SignatureStatus   string     `json:"signatureStatus"`
	Signatures        int        `json:"signatures"`
	TrustedSignatures int        `json:"trustedSignatures"`
	Signers           []string   `json:"signers"`
	FirstSeen         time.Time  `json:"firstSeen"`  // when this catalog stored it
	FirstRun          int64      `json:"firstRun"`   // the run that stored it (0: none)
	TagUpdated        *time.Time `json:"tagUpdated"` // when the tag last moved here (null when untagged)
	// ParentLists are the manifest lists that have this image as an entry.
	ParentLists []string `json:"parentLists"`
}

// ReportSignatureCounts partition images two ways. By verdict: accepted,
// rejected, noPolicy (evaluated with no policy configured); images with none
// of these were never evaluated. By what was found: signed (at least one
// signature stored) + unsigned (signatures were looked for, none found) +
// notEvaluated (never looked for) = images. In the totals each image
// counts with its summary verdict over its repositories (a "mixed" or
// "unevaluated" image is in none of accepted, rejected, noPolicy); in a
// repository's counts, with that repository's own verdict and the
// signatures found there.
type ReportSignatureCounts struct {
	// Repository is the repository of a per-repository row ("" for the
	// totals); the report nests the counts under their repository, so it
	// is not written.
	Repository     string `json:"-"`
	Images         int    `json:"images"`
	Accepted       int    `json:"accepted"`
	Rejected       int    `json:"rejected"`
	NoPolicy       int    `json:"noPolicy"`
	Signed         int    `json:"signed"`
	SignedAccepted int    `json:"signedAccepted"` // signed and accepted
	Unsigned       int    `json:"unsigned"`
	NotEvaluated   int    `json:"notEvaluated"`
}

// ReportSigner is a key or certificate subject that verified signatures.
// The identity fields come from the signatures' issuedTo and issuedBy.
type ReportSigner struct {
	Signer             string     `json:"signer"` // key fingerprint, or "CN (fingerprint)": signatures.signer
	PublicKeyID        string     `json:"publicKeyID"`
	CommonName         string     `json:"commonName"`
	Organization       string     `json:"organization"`
	IssuerCommonName   string     `json:"issuerCommonName"` // issuedBy (certificates)
	IssuerOrganization string     `json:"issuerOrganization"`
	Types              []string   `json:"types"` // atomic, sigstore
	Signatures         int        `json:"signatures"`
	Images             int        `json:"images"`
	AcceptedImages     int        `json:"acceptedImages"`
	RejectedImages     int        `json:"rejectedImages"` // signed by it, yet rejected as a whole
	Repositories       []string   `json:"repositories"`
	FirstSigned        *time.Time `json:"firstSigned"` // signing times its signatures claim
	LastSigned         *time.Time `json:"lastSigned"`
}

// ReportReasonCount counts signatures (signatureResults, by trusted: True,
// False, Unknown) or rejected images (rejectionReasons, trusted "") with
// one reason.
type ReportReasonCount struct {
	Trusted    string `json:"trusted"`
	Reason     string `json:"reason"`
	Signatures int    `json:"signatures"`
	Images     int    `json:"images"`
}

// ReportRejected is an image the policy rejected, in one repository.
type ReportRejected struct {
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
	Digest     string   `json:"digest"`
	Reason     string   `json:"reason"` // the policy's reason for the image
	Signatures int      `json:"signatures"`
	// SignatureReasons are the distinct reasons of its untrusted signatures.
	SignatureReasons []string `json:"signatureReasons"`
}

// ReportRepositoryStorage is one repository (host/path) and what its
// images hold on disk.
type ReportRepositoryStorage struct {
	Name   string `json:"name"`
	Images int    `json:"images"`
	Tags   int    `json:"tags"`
	Layers int    `json:"layers"` // distinct layer digests
	Bytes  int64  `json:"bytes"`  // their compressed sizes, each layer once
	// SharedBytes are the bytes of those layers that images of other
	// repositories (anywhere in the catalog, filtered or not) also use.
	SharedBytes int64 `json:"sharedBytes"`
}

// ReportLargeImage is one of the largest single images.
type ReportLargeImage struct {
	Digest       string   `json:"digest"`
	MediaType    string   `json:"mediaType"`
	Size         int64    `json:"size"`
	Layers       int      `json:"layers"`
	Repositories []string `json:"repositories"`
	Tags         []string `json:"tags"` // repository:tag
}

// ReportSharedLayer is a layer that images of several repositories use.
type ReportSharedLayer struct {
	Digest       string `json:"digest"`
	MediaType    string `json:"mediaType"`
	Size         int64  `json:"size"`
	Repositories int    `json:"repositories"`
	Images       int    `json:"images"`
}

// ReportRun is an import run as the report writes it: a catalog.Run, the
// one type for a run, with the report's counts, in the JSON layout of v1
// (finishedAt null while running or when it died, shard absent when
// unsharded). Imported, Unchanged and Failed are the run's own counts
// (the whole run); NewImages and the tag counts are within the repository
// filter. Build one with reportRun; Run gives the catalog.Run back.
type ReportRun struct {
	ID         int64      `json:"id"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt"` // null while running or when it died
	Status     string     `json:"status"`     // running, succeeded, partial, failed, interrupted
	Command    string     `json:"command"`
	Imported   int        `json:"imported"`
	Unchanged  int        `json:"unchanged"`
	Failed     int        `json:"failed"`
	NewImages  int        `json:"newImages"` // images this catalog first stored in this run
	TagsAdded  int        `json:"tagsAdded"`
	TagsMoved  int        `json:"tagsMoved"`
	// TagsRemoved is within the repository filter, like tagsAdded.
	TagsRemoved int `json:"tagsRemoved"`
	// Shard is the part of a sharded run this run took (absent when
	// unsharded): shard Index (0-based) of Count in the sharded run Group.
	Shard *catalog.Shard `json:"shard,omitempty"`
}

// reportRun is run's row, with the report's counts left for the caller.
func reportRun(run catalog.Run) ReportRun {
	r := ReportRun{ID: run.ID, StartedAt: run.StartedAt, Status: run.Status, Command: run.Command,
		Imported: run.Imported, Unchanged: run.Unchanged, Failed: run.Failed}
	if !run.FinishedAt.IsZero() {
		finished := run.FinishedAt
		r.FinishedAt = &finished
	}
	if run.Shard.Sharded() {
		shard := run.Shard
		r.Shard = &shard
	}
	return r
}

// Run is the catalog.Run the row was built from.
func (r ReportRun) Run() catalog.Run {
	run := catalog.Run{ID: r.ID, StartedAt: r.StartedAt, Status: r.Status, Command: r.Command,
		Imported: r.Imported, Unchanged: r.Unchanged, Failed: r.Failed}
	if r.FinishedAt != nil {
		run.FinishedAt = *r.FinishedAt
	}
	if r.Shard != nil {
		run.Shard = *r.Shard
	}
	return run
}

// CommandLine is catalog.Run.CommandLine: the command, after the shard
// the run took when sharded.
func (r ReportRun) CommandLine() string { return r.Run().CommandLine() }

// ReportTagChange is a tag that was added, moved or removed between two cuts.
type ReportTagChange struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Change     string `json:"change"` // added, moved, removed
	// From is the digest before ("" when added; when removed, the digest
	// the tag pointed at until then); To is "" when removed.
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	Run  int64     `json:"run"` // the run that made the last change (0: written outside a run)
}

// ReportRepositoryChange is a repository marked removed between two cuts
// (missing from a complete /v2/_catalog, its tags removed with it) and not
// back since.
type ReportRepositoryChange struct {
	Repository string    `json:"repository"`
	Change     string    `json:"change"` // removed
	At         time.Time `json:"at"`
	Run        int64     `json:"run"`
}

// ReportImageChange is an image stored between two cuts (its verdict and
// signatures are today's), or a recorded change of one repository's verdict
// on an image, or of one of its signatures' results, between runs.
type ReportImageChange struct {
	Digest       string    `json:"digest"`
	Repositories []string  `json:"repositories"`
	Change       string    `json:"change"` // added, verdict-changed, signature-changed
	At           time.Time `json:"at"`
	// Run is the run that stored it (added) or changed the verdict (0:
	// regimport verify).
	Run               int64  `json:"run"`
	SignatureVerdict  string `json:"signatureVerdict"`
	SignatureReason   string `json:"signatureReason"`
	Signatures        int    `json:"signatures"`
	TrustedSignatures int    `json:"trustedSignatures"`
	// Signature is the signature whose result changed (signature-changed).
	Signature string `json:"signature"`
	// From and To are, for a change, the old and new verdict of the
	// repository in Repositories (or the signature's Trusted status), each
	// with its reason in parentheses.
	From string `json:"from"`
	To   string `json:"to"`
}

// ReportFailure is a reference that failed in a run.
type ReportFailure struct {
	Run       int64     `json:"run"`
	Reference string    `json:"reference"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// ReportAttestationImage is one image of a repository whose referrers were
// looked up: which kinds of in-toto attestation it carries (SLSA
// provenance, SPDX or CycloneDX SBOMs) and whether one of each verified.
type ReportAttestationImage struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	// Provenance and SBOM: at least one attestation of the kind;
	// Verified*: at least one of the kind that verified.
	Provenance         bool `json:"provenance"`
	VerifiedProvenance bool `json:"verifiedProvenance"`
	SBOM               bool `json:"sbom"`
	VerifiedSBOM       bool `json:"verifiedSBOM"`
	// PredicateTypes are every predicate type found, sorted, once each.
	PredicateTypes []string `json:"predicateTypes"`
	// Signers are the signers of its verified attestations.
	Signers []string `json:"signers"`
}
