package signatures

import (
	"crypto/x509"
	"time"

	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
)

// TimeSource says where a signature's signing time comes from. It is a string
// so that a catalog column can hold it as it is.
type TimeSource string

// Time sources, from the strongest to the weakest. Only the first two are
// ever verified: a party other than the signer (a transparency log, a
// timestamp authority) attested the time and the verifier checked that
// attestation. The others are what the signer wrote into what it signed.
const (
	// TimeSourceTransparencyLog: the integrated time of a transparency-log
	// entry (Rekor), attested by the log's signed entry timestamp.
	TimeSourceTransparencyLog TimeSource = "transparency-log"
	// TimeSourceRFC3161: the genTime of an RFC 3161 timestamp signed by a
	// timestamp authority.
	TimeSourceRFC3161 TimeSource = "rfc3161"
	// TimeSourceNotationSigningTime: notation's signed attribute signingTime,
	// set by the signer.
	TimeSourceNotationSigningTime TimeSource = "notation-signing-time"
	// TimeSourceSigner: a time the signer put into what it signed: the
	// OpenPGP signature's creation time, or a cosign payload's
	// optional.timestamp.
	TimeSourceSigner TimeSource = "signer"
	// TimeSourceNone: nothing dates the signature.
	TimeSourceNone TimeSource = "none"
)

// Evidence is what a verifier established about one signature, beside its
// conditions: who signed it, when and on what evidence. It is flat (strings,
// bools, times) so that one catalog row can hold it.
//
// The signer, time and certificate fields are filled only when the signature
// is Trusted: what a signature that did not verify says about itself is not
// evidence of anything (the same rule OpenShift applies to ImageSignature's
// claims). The *Present fields say what the bytes carry whether or not the
// signature verified; the *Verified fields are true only for a Trusted
// signature whose requirement had that evidence checked.
type Evidence struct {
	// KeyFingerprint identifies the key that verified the signature: the
	// OpenPGP primary-key fingerprint (upper-case hex) for simple signing, the
	// SHA-256 of the PKIX DER public key (lower-case hex) for sigstore and
	// notation, whether the key stands alone or is a certificate's.
	KeyFingerprint string
	// CertificateSubject is whom the signing certificate names (its e-mail or
	// URI SAN, else its subject CN); empty for a signature made with a key.
	CertificateSubject string
	// CertificateIssuer is the CA that issued the signing certificate (its
	// issuer CN, else O).
	CertificateIssuer string
	// OIDCIssuer is the OIDC issuer a Fulcio certificate records (keyless
	// signing), empty for other certificates.
	OIDCIssuer string
	// CertificateNotBefore and CertificateNotAfter are the signing
	// certificate's validity; zero without a certificate.
	CertificateNotBefore time.Time
	CertificateNotAfter  time.Time

	// SigningTime is when the signature was made, as its TimeSource says;
	// zero with TimeSourceNone. When several verified times exist, it is the
	// earliest (the tightest bound a third party attests).
	SigningTime  time.Time
	TimeSource   TimeSource
	TimeVerified bool
	// SignatureExpiry is the expiry the signer set (notation's expiry
	// attribute); zero when none.
	SignatureExpiry time.Time

	// TLogPresent: the signature carries transparency-log evidence (a Rekor
	// entry or signed entry timestamp). TLogVerified: it was checked against
	// a log key the policy or trusted root names and is for this signature.
	TLogPresent  bool
	TLogVerified bool
	// TimestampPresent: the signature carries an RFC 3161 timestamp (a
	// sigstore bundle's, or a notation envelope's countersignature).
	// TimestampVerified: it was checked, against a timestamp authority of
	// the sigstore trusted root, or by notation-go against the trust
	// policy's tsa trust store. notation-go's outcome does not say whether
	// it checked one (it skips the check without a tsa trust store, and
	// under verifyTimestamp afterCertExpiry while the certificate is
	// valid), so notationVerifier.notationTimestamp reads that from the
	// trust policy (notation_timestamp.go).
	TimestampPresent  bool
	TimestampVerified bool
}

// noEvidence is the record of a signature nothing was learned of.
func noEvidence() Evidence { return Evidence{TimeSource: TimeSourceNone} }

// untrustedEvidence keeps only what the bytes carry, for a signature that is
// not Trusted.
func untrustedEvidence(e Evidence) Evidence {
	return Evidence{TimeSource: TimeSourceNone, TLogPresent: e.TLogPresent, TimestampPresent: e.TimestampPresent}
}

// trustedEvidence is what the checks of a Trusted signature established,
// with what its bytes carry.
func trustedEvidence(established, carried Evidence) Evidence {
	e := established
	e.TLogPresent, e.TimestampPresent = carried.TLogPresent, carried.TimestampPresent
	if e.TimeSource == "" {
		e.TimeSource = TimeSourceNone
	}
	return e
}

// carriedEvidence reads from a sigstore signature's bytes, without trusting
// them, whether it carries transparency-log entries and RFC 3161 timestamps.
func carriedEvidence(s Signature) Evidence {
	e := noEvidence()
	if len(s.Content) > MaxSignatureSize || isReferrerProblem(s) {
		return e
	}
	switch normalizeType(s.Type) {
	case TypeSigstore:
		e.TLogPresent = s.Bundle != ""
	case TypeSigstoreBundle:
		var b bundle.Bundle
		if b.UnmarshalJSON(s.Content) != nil {
			return e
		}
		if entries, err := b.TlogEntries(); err == nil {
			e.TLogPresent = len(entries) > 0
		}
		if stamps, err := b.Timestamps(); err == nil {
			e.TimestampPresent = len(stamps) > 0
		}
	}
	// Notation envelopes: see notationVerifier.check.
	return e
}

// setCertificate fills the certificate fields from a verified signing
// certificate.
func (e *Evidence) setCertificate(cert *x509.Certificate) {
	e.CertificateSubject = certificateSubject(cert)
	e.CertificateIssuer = cert.Issuer.CommonName
	if e.CertificateIssuer == "" && len(cert.Issuer.Organization) > 0 {
		e.CertificateIssuer = cert.Issuer.Organization[0]
	}
	e.CertificateNotBefore, e.CertificateNotAfter = cert.NotBefore.UTC(), cert.NotAfter.UTC()
	if sum, err := certificate.SummarizeCertificate(cert); err == nil {
		e.OIDCIssuer = sum.Issuer
	}
}

// setTime records t from source unless an earlier time of at least the same
// strength is recorded already: verified times beat unverified ones, then the
// earliest wins.
func (e *Evidence) setTime(t time.Time, source TimeSource, verified bool) {
	if t.IsZero() {
		return
	}
	switch {
	case e.TimeSource == "" || e.TimeSource == TimeSourceNone || e.SigningTime.IsZero(),
		verified && !e.TimeVerified,
		verified == e.TimeVerified && t.Before(e.SigningTime):
		e.SigningTime, e.TimeSource, e.TimeVerified = t.UTC(), source, verified
	}
}
