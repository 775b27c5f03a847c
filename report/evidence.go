package report

import (
	"context"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/report/query"
)

// The evidence behind each signature (catalog migration 0013): who signed
// it, when and on what evidence; the signatures whose only time is
// unverified; and, for keys retired at a date (--key-retired), their
// signatures that are not proven to predate the retirement.
type (
	// SignatureRow is one stored signature with its evidence.
	SignatureRow = query.ReportSignature
	// RetiredKeySignature is a retired key's signature and why it is listed.
	RetiredKeySignature = query.ReportRetiredKeySignature
)

// KeyRetirement is one --key-retired KEY=DATE: the key (a key fingerprint
// as the catalog stores it) stopped being a legitimate signer at At.
type KeyRetirement struct {
	Key string
	At  time.Time
}

// ParseKeyRetirement reads KEY=DATE, DATE an RFC 3339 time or a date
// (YYYY-MM-DD, its first instant in UTC).
func ParseKeyRetirement(s string) (KeyRetirement, error) {
	key, date, ok := strings.Cut(s, "=")
	key, date = strings.TrimSpace(key), strings.TrimSpace(date)
	if !ok || key == "" || date == "" {
		return KeyRetirement{}, usagef("%q: want KEY=DATE, KEY a key fingerprint as the report's keyFingerprint column shows it, DATE RFC 3339 or YYYY-MM-DD", s)
	}
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, date); err == nil {
			return KeyRetirement{Key: key, At: t.UTC()}, nil
		}
	}
	return KeyRetirement{}, usagef("%q: date %q is neither RFC 3339 (2006-01-02T15:04:05Z) nor YYYY-MM-DD", s, date)
}

// The streamed lists of the evidence section, with [] for empty lists.

func (r *renderer) signatureRows(ctx context.Context, errp *error) iter.Seq[SignatureRow] {
	return stream(ctx, r.snap.Signatures, fixSignature, errp)
}

func (r *renderer) unverifiedTimes(ctx context.Context, errp *error) iter.Seq[SignatureRow] {
	return stream(ctx, r.snap.UnverifiedTimes, fixSignature, errp)
}

func (r *renderer) retiredKeySignatures(ctx context.Context, errp *error) iter.Seq[RetiredKeySignature] {
	run := func(ctx context.Context, fn func(RetiredKeySignature) error) error {
		for _, k := range r.opts.KeyRetired {
			if err := r.snap.RetiredKeySignatures(ctx, k.Key, k.At, fn); err != nil {
				return err
			}
		}
		return nil
	}
	return stream(ctx, run, func(v *RetiredKeySignature) { fixSignature(&v.ReportSignature) }, errp)
}

func fixSignature(v *SignatureRow) { v.Tags = nonNil(v.Tags) }

// signer is who signed, in one cell: the certificate's subject with its
// issuer and OIDC issuer when a certificate signed, else the key.
func signer(v SignatureRow) string {
	if v.CertificateSubject == "" {
		return v.KeyFingerprint
	}
	s := v.CertificateSubject
	var by []string
	if v.CertificateIssuer != "" {
		by = append(by, "issuer "+v.CertificateIssuer)
	}
	if v.OIDCIssuer != "" {
		by = append(by, "OIDC "+v.OIDCIssuer)
	}
	if len(by) > 0 {
		s += " (" + strings.Join(by, ", ") + ")"
	}
	return s
}

var signatureColumns = []string{"repository", "tags", "digest", "signature", "type", "trusted", "reason", "keyFingerprint",
	"certificateSubject", "certificateIssuer", "oidcIssuer", "certificateNotBefore", "certificateNotAfter", "signingTime", "timeSource",
	"timeVerified", "signatureExpiry", "tlogPresent", "tlogVerified", "timestampPresent", "timestampVerified"}

func signatureCells(v SignatureRow) []string {
	b := strconv.FormatBool
	return []string{v.Repository, list(v.Tags), v.Digest, v.Signature, v.Type, v.Trusted, v.Reason, v.KeyFingerprint,
		v.CertificateSubject, v.CertificateIssuer, v.OIDCIssuer, stampPtr(v.CertificateNotBefore), stampPtr(v.CertificateNotAfter),
		stampPtr(v.SigningTime), v.TimeSource, b(v.TimeVerified), stampPtr(v.SignatureExpiry), b(v.TLogPresent), b(v.TLogVerified),
		b(v.TimestampPresent), b(v.TimestampVerified)}
}

// evidenceTables are the CSV and Markdown tables of the evidence section;
// key-retired only when --key-retired was given or the table is asked
// for by name (a CSV of just the header then).
func (r *renderer) evidenceTables(ctx context.Context, errp *error) []table {
	out := []table{
		{name: "signatures", title: "Signatures and their evidence", note: "Every stored signature: who signed it (key fingerprint, or certificate subject, issuer and OIDC issuer), when (signingTime, with timeSource: transparency-log, rfc3161, notation-signing-time, signer, none, or unknown when stored before the catalog recorded evidence; `regimport verify` records it), whether a third party attested that time (timeVerified), the certificate's validity and the transparency-log and RFC 3161 evidence. A signature that did not verify has no signer or time.",
			columns: signatureColumns, rows: seqRows(r.signatureRows(ctx, errp), signatureCells)},
		{name: "unverified-times", title: "Trusted signatures whose time is unverified", note: "Only the signer says when these were made (or nothing does): no transparency-log entry or RFC 3161 timestamp was verified. Should their key be retired or found compromised, nothing proves they were made before.",
			columns: signatureColumns, rows: seqRows(r.unverifiedTimes(ctx, errp), signatureCells)},
	}
	if len(r.opts.KeyRetired) > 0 || r.opts.Table == "key-retired" {
		out = append(out, table{name: "key-retired", title: "Signatures by retired keys", note: "Per --key-retired KEY=DATE, the key's trusted signatures not proven to predate the retirement: signed-after (a verified time after DATE), claimed-after (the signer's own time is after DATE), unverified-time (no verified time, so it may have been made after DATE).",
			columns: append([]string{"key", "retiredAt", "finding"}, signatureColumns...),
			rows: seqRows(r.retiredKeySignatures(ctx, errp), func(v RetiredKeySignature) []string {
				return append([]string{v.Key, stamp(v.RetiredAt), v.Finding}, signatureCells(v.ReportSignature)...)
			})})
	}
	return out
}

// evidence reads what the limitations say of the evidence section.
func (r *renderer) evidence(ctx context.Context) error {
	n, err := r.snap.UnknownEvidence(ctx)
	r.unknownEvidence = n
	return err
}
