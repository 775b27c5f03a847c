package query

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/regimport/regimport/catalog"
)

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
		isProv, isSBOM := contains(catalog.ProvenancePredicates, pt), contains(catalog.SBOMPredicates, pt)
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
