package report

import (
	"time"

	"github.com/regimport/regimport/report/query"

	"github.com/regimport/regimport/catalog"
)

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
	// Mirrors: each mirror destination's state (mirrors.go); absent when the catalog has no mirror runs.
	Mirrors []MirrorDestination `json:"mirrors,omitempty"`
	// PolicyPreview: what a policy would change (policypreview.go); absent unless asked for (report --policy FILE).
	PolicyPreview *PolicyPreview `json:"policyPreview,omitempty"`
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
	// Signatures are every stored signature of the pairs in the filter with
	// the evidence behind it (evidence.go), by repository, image and the
	// order found.
	Signatures []SignatureRow `json:"signatures"`
	// UnverifiedTimes are the trusted signatures whose time no third party
	// attested (or whose evidence is unknown), as Signatures.
	UnverifiedTimes []SignatureRow `json:"unverifiedTimes"`
	// KeyRetired, only with --key-retired, are each retired key's
	// signatures not proven to predate its retirement, with why.
	KeyRetired []RetiredKeySignature `json:"keyRetired,omitempty"`
	// Lineage has one row per tag of a single image (a list's tags one
	// per platform image) and per untagged image, with the base it is
	// built on and whether that base's tag has moved on (lineage.go).
	Lineage []LineageRow `json:"lineage"`
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

// The rows of the report are the catalog's report rows, declared once in
// catalog/report_types.go with their JSON names and what each field means;
// these are their names in the Document.
type (
	SignatureCounts   = query.ReportSignatureCounts
	Signer            = query.ReportSigner
	ReasonCount       = query.ReportReasonCount
	LargeImage        = query.ReportLargeImage
	SharedLayer       = query.ReportSharedLayer
	RejectedImage     = query.ReportRejected
	TagChange         = query.ReportTagChange
	RepositoryChange  = query.ReportRepositoryChange
	UnreferencedImage = catalog.UnreferencedImage
	ImageChange       = query.ReportImageChange
	Failure           = query.ReportFailure
	InventoryRow      = query.ReportImage
	AttestationImage  = query.ReportAttestationImage
	LineageRow        = query.ReportLineage
)

// Run is an import run (query.ReportRun: id ... tagsRemoved) with what
// the report works out about it.
type Run struct {
	query.ReportRun
	// VerificationChanges were made after this run started and before the
	// next one did (`regimport verify` is not recorded as a run).
	VerificationChanges int  `json:"verificationChanges"`
	InRange             bool `json:"inRange"` // after Filter.From, up to Filter.To
}

// Repository is one repository (query.ReportRepositoryStorage: name,
// images, tags, layers, bytes, sharedBytes) with its images' signature
// state.
type Repository struct {
	query.ReportRepositoryStorage
	// Signatures count this repository's own verdicts and signatures.
	Signatures SignatureCounts `json:"signatures"`
}
