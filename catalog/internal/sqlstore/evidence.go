package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/regimport/regimport/catalog"
)

// SignatureEvidence is catalog.SignatureEvidence (migration 0013).
type SignatureEvidence = catalog.SignatureEvidence

// evidenceColumns are the signatures columns of SignatureEvidence, in the
// order evidenceArgs and scanEvidence use.
const evidenceColumns = `key_fingerprint, certificate_subject, certificate_issuer, oidc_issuer, certificate_not_before,
	certificate_not_after, signing_time, time_source, time_verified, signature_expiry, tlog_present, tlog_verified,
	timestamp_present, timestamp_verified`

// evidenceUpdate sets evidenceColumns from an INSERT's excluded row.
const evidenceUpdate = `key_fingerprint = excluded.key_fingerprint, certificate_subject = excluded.certificate_subject,
	certificate_issuer = excluded.certificate_issuer, oidc_issuer = excluded.oidc_issuer,
	certificate_not_before = excluded.certificate_not_before, certificate_not_after = excluded.certificate_not_after,
	signing_time = excluded.signing_time, time_source = excluded.time_source, time_verified = excluded.time_verified,
	signature_expiry = excluded.signature_expiry, tlog_present = excluded.tlog_present, tlog_verified = excluded.tlog_verified,
	timestamp_present = excluded.timestamp_present, timestamp_verified = excluded.timestamp_verified`

// evidenceCount is how many columns evidenceColumns names.
const evidenceCount = 14

// optionalTime is a time as the catalog stores it, NULL when zero.
func optionalTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// evidenceArgs are the values of evidenceColumns.
func evidenceArgs(e SignatureEvidence) []any {
	return []any{e.KeyFingerprint, e.CertificateSubject, e.CertificateIssuer, e.OIDCIssuer, optionalTime(e.CertificateNotBefore),
		optionalTime(e.CertificateNotAfter), optionalTime(e.SigningTime), e.TimeSource, e.TimeVerified, optionalTime(e.SignatureExpiry),
		e.TLogPresent, e.TLogVerified, e.TimestampPresent, e.TimestampVerified}
}

// evidenceScan holds the scan targets of evidenceColumns.
type evidenceScan struct {
	e                                   SignatureEvidence
	notBefore, notAfter, signed, expiry sql.NullString
}

func (s *evidenceScan) targets() []any {
	return []any{&s.e.KeyFingerprint, &s.e.CertificateSubject, &s.e.CertificateIssuer, &s.e.OIDCIssuer, &s.notBefore,
		&s.notAfter, &s.signed, &s.e.TimeSource, &s.e.TimeVerified, &s.expiry, &s.e.TLogPresent, &s.e.TLogVerified,
		&s.e.TimestampPresent, &s.e.TimestampVerified}
}

func (s *evidenceScan) evidence() SignatureEvidence {
	e := s.e
	at := func(v sql.NullString) time.Time {
		if !v.Valid {
			return time.Time{}
		}
		return parseTime(v.String).UTC()
	}
	e.CertificateNotBefore, e.CertificateNotAfter, e.SigningTime, e.SignatureExpiry = at(s.notBefore), at(s.notAfter), at(s.signed), at(s.expiry)
	return e
}

// sameEvidence compares evidence as stored (to the microsecond).
func sameEvidence(a, b SignatureEvidence) bool {
	round := func(e SignatureEvidence) SignatureEvidence {
		for _, t := range []*time.Time{&e.CertificateNotBefore, &e.CertificateNotAfter, &e.SigningTime, &e.SignatureExpiry} {
			if !t.IsZero() {
				*t = t.UTC().Round(time.Microsecond)
			}
		}
		return e
	}
	return round(a) == round(b)
}

// updateEvidence rewrites the evidence of a pair's signatures in place,
// for a re-verification whose results a client sees did not change (an
// older catalog's signatures, stored before evidence was recorded).
func (c *Catalog) updateEvidence(ctx context.Context, tx *batchTx, image string, repo int64, sigs []SignatureRecord) error {
	for _, s := range sigs {
		args := append(evidenceArgs(s.Evidence), image, repo, s.Object.Name)
		if _, err := tx.exec(ctx, `UPDATE signatures SET key_fingerprint = $1, certificate_subject = $2, certificate_issuer = $3,
			oidc_issuer = $4, certificate_not_before = $5, certificate_not_after = $6, signing_time = $7, time_source = $8,
			time_verified = $9, signature_expiry = $10, tlog_present = $11, tlog_verified = $12, timestamp_present = $13,
			timestamp_verified = $14 WHERE image_name = $15 AND repository_id = $16 AND name = $17`, args...); err != nil {
			return fmt.Errorf("store evidence of signature %s: %w", s.Object.Name, err)
		}
	}
	return nil
}
