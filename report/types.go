package report

import "time"

// APIVersion names the layout of the JSON report. Fields may be added within
// a version; none is renamed, retyped or removed without a new version.
const APIVersion = "regimport.io/report/v1"

// Document is the JSON report (--format json), one object with its keys in
// this order. Lists are [] when empty, never null; optional scalars are null
// when the catalog does not know them. Times are RFC 3339, UTC. Sizes are
// bytes as registries report them (compressed layers plus the config).
//
// The CSV tables (--format csv --table NAME) carry the same fields, named
// the same, one header row each.
type Document struct {
	APIVersion  string    `json:"apiVersion"`  // APIVersion
	Kind        string    `json:"kind"`        // "CatalogReport"
	GeneratedAt time.Time `json:"generatedAt"` // when the report was made
	Catalog     Catalog   `json:"catalog"`
	Filter      Filter    `json:"filter"`
	Summary     Summary   `json:"summary"`
	// Limitations says, in sentences, what this catalog cannot tell.
	Limitations []string `json:"limitations"`
	// Runs are all import runs, oldest first.
	Runs []Run `json:"runs"`
	// Repositories in the filter, by name.
	Repositories []Repository `json:"repositories"`
	// Signers are the keys and certificate subjects that verified
	// signatures, most images first.
	Signers []Signer `json:"signers"`
	// SignatureResults count signatures by Trusted condition and reason.
	SignatureResults []ReasonCount `json:"signatureResults"`
	// RejectionReasons count rejected images by the policy's reason.
	RejectionReasons []ReasonCount `json:"rejectionReasons"`
	Storage          Storage       `json:"storage"`
	// RepositoryChanges are repositories removed between Filter.From and
	// Filter.To (missing from a complete /v2/_catalog), by name.
	RepositoryChanges []RepositoryChange `json:"repositoryChanges"`
	// UnreferencedImages are images that no tag, image stream or
	// referenced list points at any more, by digest, with since when.
	UnreferencedImages []UnreferencedImage `json:"unreferencedImages"`
	// Attestations: provenance and SBOMs found as referrers (attestations.go).
	Attestations Attestations `json:"attestations"`
	// RejectedImages are images the policy rejected, per repository.
	RejectedImages []RejectedImage `json:"rejectedImages"`
	// TagChanges are tags added, moved or removed between Filter.From and Filter.To.
	TagChanges []TagChange `json:"tagChanges"`
	// ImageChanges are images stored or re-verified between the two.
	ImageChanges []ImageChange `json:"imageChanges"`
	// Failures are the references that failed in runs between the two.
	Failures []Failure `json:"failures"`
	// Inventory has one row per tag, and one per image of a repository
	// that no tag of that repository points at, by repository and tag.
	Inventory []InventoryRow `json:"inventory"`
}

// Catalog describes the file the report was made from.
type Catalog struct {
	File            string `json:"file"`
	SchemaVersion   int    `json:"schemaVersion"`
	ResourceVersion int64  `json:"resourceVersion"` // the newest change
}

// Filter is what the report was asked for.
type Filter struct {
	// Repository is the --repository pattern ("" for all): SQLite GLOB
	// syntax over host/path, where * also matches "/".
	Repository string `json:"repository"`
	From       Cut    `json:"from"` // the changes section compares From ...
	To         Cut    `json:"to"`   // ... with To
}

// Cut is one end of the changes comparison: the state after a run, at a
// time, or the empty catalog (Run 0 and Time null, as From) or the catalog
// as it is now (Run 0 and Time null, as To).
type Cut struct {
	Run         int64      `json:"run"`
	Time        *time.Time `json:"time"`
	Description string     `json:"description"`
}

// Summary holds the headline numbers of the report.
type Summary struct {
	Repositories     int             `json:"repositories"`
	Tags             int             `json:"tags"`
	Images           int             `json:"images"`        // manifests: single images and lists
	ManifestLists    int             `json:"manifestLists"` // of which manifest lists / OCI indexes
	UniqueLayers     int             `json:"uniqueLayers"`
	UniqueLayerBytes int64           `json:"uniqueLayerBytes"` // each layer counted once
	SharedLayers     int             `json:"sharedLayers"`     // layers used in more than one repository
	SharedLayerBytes int64           `json:"sharedLayerBytes"`
	Runs             int             `json:"runs"`
	LastRun          *Run            `json:"lastRun"` // null when no run is recorded
	Signers          int             `json:"signers"`
	Signatures       SignatureCounts `json:"signatures"`
	Changes          ChangeCounts    `json:"changes"`
	// UnreferencedImages counts images no tag, image stream or referenced
	// list points at any more (kept until `regimport prune`).
	UnreferencedImages int `json:"unreferencedImages"`
}

// SignatureCounts partition images two ways. By verdict: accepted,
// rejected, noPolicy (evaluated with no policy configured); images with none
// of these were never evaluated. By what was found: signed (at least one
// signature stored) + unsigned (signatures were looked for, none found) +
// notEvaluated (never looked for) = images. In the summary each image
// counts with its summary verdict over its repositories (a "mixed" or
// "unevaluated" image is in none of accepted, rejected, noPolicy); in a
// repository's counts, with that repository's own verdict and the
// signatures found there.
type SignatureCounts struct {
	Images         int `json:"images"`
	Accepted       int `json:"accepted"`
	Rejected       int `json:"rejected"`
	NoPolicy       int `json:"noPolicy"`
	Signed         int `json:"signed"`
	SignedAccepted int `json:"signedAccepted"` // signed and accepted
	Unsigned       int `json:"unsigned"`
	NotEvaluated   int `json:"notEvaluated"`
}

// ChangeCounts summarize the changes between Filter.From and Filter.To.
type ChangeCounts struct {
	TagsAdded int `json:"tagsAdded"`
	TagsMoved int `json:"tagsMoved"` // now point at another digest
	// TagsRemoved counts tags a complete listing (or a 404 for the tag)
	// showed gone; a pointer because report v1 once had it null.
	TagsRemoved *int `json:"tagsRemoved"`
	// RepositoriesRemoved counts repositories missing from a complete
	// /v2/_catalog.
	RepositoriesRemoved int `json:"repositoriesRemoved"`
	ImagesAdded         int `json:"imagesAdded"`
	VerificationChanged int `json:"verificationChanged"` // re-verified images whose verdict or signatures changed
	Failures            int `json:"failures"`
}

// Run is an import run. imported, unchanged and failed are the run's own
// counts; newImages, tagsAdded, tagsMoved and verificationChanges are
// within the repository filter.
type Run struct {
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
	// VerificationChanges were made after this run started and before the
	// next one did (`regimport verify` is not recorded as a run).
	VerificationChanges int  `json:"verificationChanges"`
	InRange             bool `json:"inRange"` // after Filter.From, up to Filter.To
}

// Repository is one repository (host/path) with its images' signature
// state and storage.
type Repository struct {
	Name   string `json:"name"`
	Images int    `json:"images"`
	Tags   int    `json:"tags"`
	Layers int    `json:"layers"` // distinct layers
	Bytes  int64  `json:"bytes"`  // their sizes, each layer once
	// SharedBytes are bytes of layers that other repositories also use.
	SharedBytes int64 `json:"sharedBytes"`
	// Signatures count this repository's own verdicts and signatures.
	Signatures SignatureCounts `json:"signatures"`
}

// Signer is a key or certificate subject that verified signatures. The
// identity fields come from the signatures' issuedTo and issuedBy.
type Signer struct {
	Signer             string     `json:"signer"` // key fingerprint, or "CN (fingerprint)"
	PublicKeyID        string     `json:"publicKeyID"`
	CommonName         string     `json:"commonName"`
	Organization       string     `json:"organization"`
	IssuerCommonName   string     `json:"issuerCommonName"`
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

// ReasonCount counts signatures (signatureResults, by trusted: True,
// False, Unknown) or rejected images (rejectionReasons, trusted "") with
// one reason.
type ReasonCount struct {
	Trusted    string `json:"trusted"`
	Reason     string `json:"reason"`
	Signatures int    `json:"signatures"`
	Images     int    `json:"images"`
}

// Storage holds the sizes section.
type Storage struct {
	LargestImages []LargeImage  `json:"largestImages"` // single images, largest first
	SharedLayers  []SharedLayer `json:"sharedLayers"`  // the most widely shared first
	// SizeHistogram buckets single images by size (min and max in bytes).
	SizeHistogram []Bucket `json:"sizeHistogram"`
	// AgeHistogram buckets single images by the age of their build time
	// (min and max in days); images with no usable build time are in
	// ImagesWithoutCreated.
	AgeHistogram         []Bucket `json:"ageHistogram"`
	ImagesWithoutCreated int      `json:"imagesWithoutCreated"`
}

// Bucket is one bar of a histogram: min <= value < max (max 0: no bound).
type Bucket struct {
	Label string `json:"label"`
	Min   int64  `json:"min"`
	Max   int64  `json:"max"`
	Count int    `json:"count"`
}

// LargeImage is one of the largest images.
type LargeImage struct {
	Digest       string   `json:"digest"`
	MediaType    string   `json:"mediaType"`
	Size         int64    `json:"size"`
	Layers       int      `json:"layers"`
	Repositories []string `json:"repositories"`
	Tags         []string `json:"tags"` // repository:tag
}

// SharedLayer is a layer that images of several repositories use.
type SharedLayer struct {
	Digest       string `json:"digest"`
	MediaType    string `json:"mediaType"`
	Size         int64  `json:"size"`
	Repositories int    `json:"repositories"`
	Images       int    `json:"images"`
}

// RejectedImage is an image the policy rejected, in one repository.
type RejectedImage struct {
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"`
	Digest     string   `json:"digest"`
	Reason     string   `json:"reason"` // the policy's reason for the image
	Signatures int      `json:"signatures"`
	// SignatureReasons are the reasons of its untrusted signatures.
	SignatureReasons []string `json:"signatureReasons"`
}

// TagChange is a tag that was added, moved or removed.
type TagChange struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Change     string `json:"change"` // added, moved, removed
	// From is the digest before ("" when added; when removed, the digest
	// the tag pointed at until then); To is "" when removed.
	From string    `json:"from"`
	To   string    `json:"to"`
	At   time.Time `json:"at"`
	Run  int64     `json:"run"` // 0 when written outside a run
}

// RepositoryChange is a repository that was removed: missing from a
// complete /v2/_catalog, its tags removed with it.
type RepositoryChange struct {
	Repository string    `json:"repository"`
	Change     string    `json:"change"` // removed
	At         time.Time `json:"at"`
	Run        int64     `json:"run"`
}

// UnreferencedImage is an image nothing references any more.
type UnreferencedImage struct {
	Digest string `json:"digest"`
	// DockerImageReference is where it was first imported from.
	DockerImageReference string    `json:"dockerImageReference"`
	Size                 int64     `json:"size"`
	Since                time.Time `json:"since"` // when its last reference went away
}

// ImageChange is an image stored between the two cuts (its verdict and
// signatures are today's), or a recorded change of one repository's verdict
// on an image, or of one of its signatures' results, between runs.
type ImageChange struct {
	Digest            string    `json:"digest"`
	Repositories      []string  `json:"repositories"`
	Change            string    `json:"change"` // added, verdict-changed, signature-changed
	At                time.Time `json:"at"`
	Run               int64     `json:"run"`
	SignatureVerdict  string    `json:"signatureVerdict"`
	SignatureReason   string    `json:"signatureReason"`
	Signatures        int       `json:"signatures"`
	TrustedSignatures int       `json:"trustedSignatures"`
	// Signature is the signature whose result changed (signature-changed).
	Signature string `json:"signature"`
	// From and To are, for a change, the old and new verdict of the
	// repository in Repositories (or the signature's Trusted status), each
	// with its reason in parentheses.
	From string `json:"from"`
	To   string `json:"to"`
}

// Failure is a reference that failed in a run.
type Failure struct {
	Run       int64     `json:"run"`
	Reference string    `json:"reference"`
	Reason    string    `json:"reason"`
	At        time.Time `json:"at"`
}

// InventoryRow is an image under one tag of a repository, or under none.
type InventoryRow struct {
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
	// SignatureStatus is signed, unsigned (looked for, none found) or
	// not-evaluated (never looked for).
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
