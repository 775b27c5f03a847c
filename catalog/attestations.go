package catalog

// AttestationRecord is one in-toto attestation found as a referrer of an image.
type AttestationRecord struct {
	Referrer      string // digest of the referrer manifest
	PredicateType string
	Signer        string
	Verified      bool
	Reason        string
	Message       string
	Content       []byte // the bundle as found, to verify again offline
}

// Predicate types the report groups attestations by.
var (
	// ProvenancePredicates are SLSA provenance, v0.2 and v1.
	ProvenancePredicates = []string{"https://slsa.dev/provenance/v1", "https://slsa.dev/provenance/v0.2"}
	// SBOMPredicates are SPDX and CycloneDX documents.
	SBOMPredicates = []string{"https://spdx.dev/Document", "https://cyclonedx.org/bom"}
)
