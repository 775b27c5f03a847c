package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

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

// putAttestations replaces the attestations of an image when its referrers
// were looked up; otherwise what is stored stays.
func (c *Catalog) putAttestations(ctx context.Context, tx *batchTx, image string, v Verification) error {
	if !v.ReferrersChecked {
		return nil
	}
	if _, err := tx.exec(ctx, `DELETE FROM attestations WHERE image_name = $1`, image); err != nil {
		return fmt.Errorf("replace attestations of %s: %w", image, err)
	}
	for i, a := range v.Attestations {
		if _, err := tx.exec(ctx, `INSERT INTO attestations (image_name, position, referrer, predicate_type, signer, verified, reason, message, content)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, image, i, a.Referrer, a.PredicateType, a.Signer, a.Verified, a.Reason, a.Message, a.Content); err != nil {
			return fmt.Errorf("store attestation %d of %s: %w", i, image, err)
		}
	}
	if _, err := tx.exec(ctx, `INSERT INTO referrer_lookups (image_name, checked_at) VALUES ($1, $2)
		ON CONFLICT (image_name) DO UPDATE SET checked_at = excluded.checked_at`, image, c.timestamp()); err != nil {
		return fmt.Errorf("record referrer lookup of %s: %w", image, err)
	}
	return nil
}

// StoredAttestations returns the attestations kept for an image, in the order
// found, and whether its referrers were ever looked up.
func (c *Catalog) StoredAttestations(ctx context.Context, image string) ([]AttestationRecord, bool, error) {
	var n int
	if err := c.read.QueryRowContext(ctx, `SELECT count(*) FROM referrer_lookups WHERE image_name = $1`, image).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("referrer lookups of %s: %w", image, err)
	}
	rows, err := c.read.QueryContext(ctx, `SELECT referrer, predicate_type, signer, verified, reason, message, content
		FROM attestations WHERE image_name = $1 ORDER BY position`, image)
	if err != nil {
		return nil, false, fmt.Errorf("attestations of %s: %w", image, err)
	}
	defer rows.Close()
	var out []AttestationRecord
	for rows.Next() {
		var a AttestationRecord
		if err := rows.Scan(&a.Referrer, &a.PredicateType, &a.Signer, &a.Verified, &a.Reason, &a.Message, &a.Content); err != nil {
			return nil, false, fmt.Errorf("attestations of %s: %w", image, err)
		}
		out = append(out, a)
	}
	return out, n > 0, rows.Err()
}

// AttestationCoverage lists, per repository and image of the report's
// filter whose referrers were looked up, the attestation kinds the image
// carries. notChecked counts the images of the filter whose referrers were
// never looked up (imported before regimport read referrers, or with
// signatures off): for those "no provenance" is not known.
func (s *ReportSnapshot) AttestationCoverage(ctx context.Context) (rows []ReportAttestationImage, notChecked int, err error) {
	q := `SELECT m.repository, m.image_name,
			COALESCE((SELECT string_agg(a.predicate_type || '` + unitSep + `' || CASE WHEN a.verified THEN '1' ELSE '0' END || '` + unitSep + `' || a.signer,
				'` + recordSep + `' ORDER BY a.position) FROM attestations a WHERE a.image_name = m.image_name), '')` + indexAttestationsPacked + `
		FROM report_mem m WHERE ` + attestationsKnown + ` ORDER BY m.repository, m.image_name`
	err = s.each(ctx, "attestations", s.query().with(q), func(res *sql.Rows) error {
		var row ReportAttestationImage
		var packed, indexPacked string
		if err := res.Scan(&row.Repository, &row.Digest, &packed, &indexPacked); err != nil {
			return err
		}
		row.fill(packed + recordSep + indexPacked)
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if err := s.tx.QueryRowContext(ctx, `SELECT count(*) FROM report_scope WHERE image_name NOT IN (SELECT image_name FROM referrer_lookups)`+indexAttestationsUnknown).Scan(&notChecked); err != nil {
		return nil, 0, fmt.Errorf("report attestations: %w", err)
	}
	return rows, notChecked, nil
}

// The separators of the attestations packed into one column: ASCII's
// record and unit separators, which no predicate type or signer holds.
const (
	recordSep = "\x1e"
	unitSep   = "\x1f"
)

// fill reads the attestations packed by the query: predicate type, verified
// and signer, fields split by US and records by RS.
func (row *ReportAttestationImage) fill(packed string) {
	seen := map[string]bool{}
	for _, item := range strings.Split(packed, recordSep) {
		f := strings.SplitN(item, unitSep, 3)
		if len(f) != 3 {
			continue
		}
		pt, verified, signer := f[0], f[1] == "1", f[2]
		if !seen[pt] {
			seen[pt] = true
			row.PredicateTypes = append(row.PredicateTypes, pt)
		}
		isProv, isSBOM := contains(ProvenancePredicates, pt), contains(SBOMPredicates, pt)
		row.Provenance = row.Provenance || isProv
		row.SBOM = row.SBOM || isSBOM
		row.VerifiedProvenance = row.VerifiedProvenance || (isProv && verified)
		row.VerifiedSBOM = row.VerifiedSBOM || (isSBOM && verified)
		if verified && signer != "" && !contains(row.Signers, signer) {
			row.Signers = append(row.Signers, signer)
		}
	}
	sort.Strings(row.PredicateTypes)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
