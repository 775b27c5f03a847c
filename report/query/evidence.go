package query

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ReportSignature is one stored signature of a (repository, image) pair
// with the evidence the verifier established (catalog.SignatureEvidence,
// migration 0013).
type ReportSignature struct {
	Repository string   `json:"repository"`
	Tags       []string `json:"tags"` // the repository's tags that point at the image
	Digest     string   `json:"digest"`
	Signature  string   `json:"signature"` // the ImageSignature's name
	Type       string   `json:"type"`      // atomic, sigstore, notation, ...
	Trusted    string   `json:"trusted"`   // condition Trusted: True, False, Unknown
	Reason     string   `json:"reason"`
	// KeyFingerprint is the key that verified it; CertificateSubject,
	// CertificateIssuer and OIDCIssuer name a certificate's signer. All
	// empty for a signature that did not verify.
	KeyFingerprint     string `json:"keyFingerprint"`
	CertificateSubject string `json:"certificateSubject"`
	CertificateIssuer  string `json:"certificateIssuer"`
	OIDCIssuer         string `json:"oidcIssuer"`
	// CertificateNotBefore and CertificateNotAfter are the signing
	// certificate's validity (null without a certificate).
	CertificateNotBefore *time.Time `json:"certificateNotBefore"`
	CertificateNotAfter  *time.Time `json:"certificateNotAfter"`
	// SigningTime is when it was signed according to TimeSource:
	// transparency-log, rfc3161, notation-signing-time, signer, none, or
	// unknown (stored before the catalog recorded evidence, and not
	// re-verified since). TimeVerified: a third party attested the time
	// and the verifier checked it.
	SigningTime     *time.Time `json:"signingTime"`
	TimeSource      string     `json:"timeSource"`
	TimeVerified    bool       `json:"timeVerified"`
	SignatureExpiry *time.Time `json:"signatureExpiry"` // the signer's expiry (notation), null when none
	// TLogPresent and TLogVerified: transparency-log evidence carried, and
	// checked; TimestampPresent and TimestampVerified: the same for an RFC
	// 3161 timestamp.
	TLogPresent       bool `json:"tlogPresent"`
	TLogVerified      bool `json:"tlogVerified"`
	TimestampPresent  bool `json:"timestampPresent"`
	TimestampVerified bool `json:"timestampVerified"`
}

// TimeSourceUnknown is the TimeSource of a signature whose evidence the
// catalog has not recorded.
const TimeSourceUnknown = "unknown"

// Findings of a retired key's signature (ReportRetiredKeySignature).
const (
	// FindingSignedAfter: a verified time after the retirement.
	FindingSignedAfter = "signed-after"
	// FindingClaimedAfter: the signer's own, unverified time is after it.
	FindingClaimedAfter = "claimed-after"
	// FindingUnverifiedTime: no verified time, so nothing proves the
	// signature predates the retirement.
	FindingUnverifiedTime = "unverified-time"
)

// ReportRetiredKeySignature is a signature by a key retired at RetiredAt
// that is not proven to predate the retirement; Finding says why.
type ReportRetiredKeySignature struct {
	Key       string    `json:"key"`
	RetiredAt time.Time `json:"retiredAt"`
	Finding   string    `json:"finding"` // signed-after, claimed-after, unverified-time
	ReportSignature
}

// signatureRows is the SELECT of ReportSignature rows over the pairs in
// the report's scope (alias s for signatures), for a WHERE and ORDER BY
// to follow.
const signatureRows = `SELECT m.repository, (SELECT string_agg(tag, ` + nl + ` ORDER BY tag) FROM report_ir x
		WHERE x.image_name = s.image_name AND x.repository = m.repository AND x.tag IS NOT NULL),
		s.image_name, s.name, s.type, s.trusted, s.reason, s.key_fingerprint, s.certificate_subject, s.certificate_issuer,
		s.oidc_issuer, s.certificate_not_before, s.certificate_not_after, s.signing_time, s.time_source, s.time_verified,
		s.signature_expiry, s.tlog_present, s.tlog_verified, s.timestamp_present, s.timestamp_verified
	FROM report_mem m JOIN repositories rp ON rp.name = m.repository
	JOIN signatures s ON s.repository_id = rp.id AND s.image_name = m.image_name`

const signatureOrder = ` ORDER BY m.repository, s.image_name, s.position`

func scanSignature(rows *sql.Rows) (ReportSignature, error) {
	var r ReportSignature
	var tags, notBefore, notAfter, signed, expiry sql.NullString
	if err := rows.Scan(&r.Repository, &tags, &r.Digest, &r.Signature, &r.Type, &r.Trusted, &r.Reason, &r.KeyFingerprint,
		&r.CertificateSubject, &r.CertificateIssuer, &r.OIDCIssuer, &notBefore, &notAfter, &signed, &r.TimeSource, &r.TimeVerified,
		&expiry, &r.TLogPresent, &r.TLogVerified, &r.TimestampPresent, &r.TimestampVerified); err != nil {
		return r, err
	}
	r.Tags = lines(tags)
	r.CertificateNotBefore, r.CertificateNotAfter, r.SigningTime, r.SignatureExpiry = optionalTime(notBefore), optionalTime(notAfter), optionalTime(signed), optionalTime(expiry)
	if r.TimeSource == "" {
		r.TimeSource = TimeSourceUnknown
	}
	return r, nil
}

// Signatures streams every signature of the pairs in scope with its
// evidence, by repository, image and the order found.
func (s *ReportSnapshot) Signatures(ctx context.Context, fn func(ReportSignature) error) error {
	return s.each(ctx, "signatures", s.query().with(signatureRows+signatureOrder), func(rows *sql.Rows) error {
		r, err := scanSignature(rows)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// UnverifiedTimes streams the trusted signatures whose only time is
// unverified: the signer's own claim, none at all, or unknown (evidence
// not recorded yet). Nothing proves when they were made.
func (s *ReportSnapshot) UnverifiedTimes(ctx context.Context, fn func(ReportSignature) error) error {
	return s.each(ctx, "unverified signing times", s.query().with(signatureRows+` WHERE s.trusted = 'True' AND NOT s.time_verified`+signatureOrder),
		func(rows *sql.Rows) error {
			r, err := scanSignature(rows)
			if err != nil {
				return err
			}
			return fn(r)
		})
}

// RetiredKeySignatures streams the trusted signatures made with key (a
// key fingerprint as stored) that are not proven to predate retiredAt:
// those with a verified time after it, and those whose time is unverified
// (after it by the signer's own claim, or not after it but unattested).
func (s *ReportSnapshot) RetiredKeySignatures(ctx context.Context, key string, retiredAt time.Time, fn func(ReportRetiredKeySignature) error) error {
	q := s.query()
	d := s.d
	q.with(signatureRows + ` WHERE s.trusted = 'True' AND s.key_fingerprint = ` + q.arg(key) + ` AND (NOT s.time_verified OR ` +
		d.timeValue("s.signing_time") + ` > ` + d.timeParam(q.arg(formatTime(retiredAt))) + `)` + signatureOrder)
	return s.each(ctx, fmt.Sprintf("signatures of key %s", key), q, func(rows *sql.Rows) error {
		r, err := scanSignature(rows)
		if err != nil {
			return err
		}
		out := ReportRetiredKeySignature{Key: key, RetiredAt: retiredAt.UTC(), ReportSignature: r}
		after := r.SigningTime != nil && r.SigningTime.After(retiredAt)
		switch {
		case r.TimeVerified && after:
			out.Finding = FindingSignedAfter
		case after:
			out.Finding = FindingClaimedAfter
		default:
			out.Finding = FindingUnverifiedTime
		}
		return fn(out)
	})
}

// UnknownEvidence counts the signatures in scope whose evidence was never
// recorded (stored before schema 13 and not re-verified since).
func (s *ReportSnapshot) UnknownEvidence(ctx context.Context) (int, error) {
	var n int
	err := s.each(ctx, "signatures without evidence", s.query().with(`SELECT count(*) FROM report_mem m
		JOIN repositories rp ON rp.name = m.repository JOIN signatures s ON s.repository_id = rp.id AND s.image_name = m.image_name
		WHERE s.time_source = ''`), func(rows *sql.Rows) error { return rows.Scan(&n) })
	return n, err
}
