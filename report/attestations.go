package report

import (
	"context"
	"strconv"
)

// Attestations says which images carry in-toto attestations found as OCI
// 1.1 referrers: SLSA provenance and SBOMs (SPDX, CycloneDX), and whether
// they verified under the policy's sigstoreSigned requirements.
type Attestations struct {
	// Checked images had their referrers looked up; NotChecked never did
	// (imported before referrers were read, or with signatures off), so
	// nothing is known of their attestations.
	Checked    int `json:"checked"`
	NotChecked int `json:"notChecked"`
	// WithProvenance and WithSBOM count checked images with at least one
	// attestation of the kind; Verified* those with one that verified.
	WithProvenance         int `json:"withProvenance"`
	WithVerifiedProvenance int `json:"withVerifiedProvenance"`
	WithSBOM               int `json:"withSBOM"`
	WithVerifiedSBOM       int `json:"withVerifiedSBOM"`
	// Images has one row per repository and checked image.
	Images []AttestationImage `json:"images"`
}

// AttestationImage is one checked image of a repository.
type AttestationImage struct {
	Repository         string   `json:"repository"`
	Digest             string   `json:"digest"`
	Provenance         bool     `json:"provenance"`
	VerifiedProvenance bool     `json:"verifiedProvenance"`
	SBOM               bool     `json:"sbom"`
	VerifiedSBOM       bool     `json:"verifiedSBOM"`
	PredicateTypes     []string `json:"predicateTypes"`
	Signers            []string `json:"signers"`
}

func (r *renderer) attestations(ctx context.Context) error {
	rows, notChecked, err := r.snap.AttestationCoverage(ctx)
	if err != nil {
		return err
	}
	a := Attestations{NotChecked: notChecked, Images: make([]AttestationImage, 0, len(rows))}
	seen := map[string]bool{}
	for _, row := range rows {
		a.Images = append(a.Images, AttestationImage{Repository: row.Repository, Digest: row.Image, Provenance: row.Provenance,
			VerifiedProvenance: row.VerifiedProvenance, SBOM: row.SBOM, VerifiedSBOM: row.VerifiedSBOM,
			PredicateTypes: nonNil(row.PredicateTypes), Signers: nonNil(row.Signers)})
		if seen[row.Image] {
			continue // an image in several repositories counts once
		}
		seen[row.Image] = true
		a.Checked++
		a.WithProvenance += b2i(row.Provenance)
		a.WithVerifiedProvenance += b2i(row.VerifiedProvenance)
		a.WithSBOM += b2i(row.SBOM)
		a.WithVerifiedSBOM += b2i(row.VerifiedSBOM)
	}
	r.doc.Attestations = a
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// attestationTables are the CSV and Markdown tables of attestations: every
// checked image, then those without provenance and those without an SBOM.
func (r *renderer) attestationTables() []table {
	a := r.doc.Attestations
	cols := []string{"repository", "digest", "provenance", "verifiedProvenance", "sbom", "verifiedSBOM", "predicateTypes", "signers"}
	cells := func(v AttestationImage) []string {
		return []string{v.Repository, v.Digest, strconv.FormatBool(v.Provenance), strconv.FormatBool(v.VerifiedProvenance),
			strconv.FormatBool(v.SBOM), strconv.FormatBool(v.VerifiedSBOM), list(v.PredicateTypes), list(v.Signers)}
	}
	without := func(keep func(AttestationImage) bool) func(func([]string) bool) {
		return func(yield func([]string) bool) {
			for _, v := range a.Images {
				if keep(v) && !yield(cells(v)) {
					return
				}
			}
		}
	}
	note := "Images whose OCI referrers were looked up; " + itoa(a.NotChecked) + " images never were, and are in none of these tables."
	return []table{
		{name: "attestations", title: "Attestations (provenance and SBOMs)", note: note, columns: cols, rows: sliceRows(a.Images, cells)},
		{name: "no-provenance", title: "Images without provenance", note: "No SLSA provenance attestation was found among the image's referrers. " + note,
			columns: cols, rows: without(func(v AttestationImage) bool { return !v.Provenance })},
		{name: "no-sbom", title: "Images without an SBOM", note: "No SPDX or CycloneDX attestation was found among the image's referrers. " + note,
			columns: cols, rows: without(func(v AttestationImage) bool { return !v.SBOM })},
	}
}
