package catalog

import "time"

// SignatureEvidence is what the verifier established about one stored
// signature: who signed it, when and on what evidence. Package signatures
// computes it (signatures.Evidence) and the importer copies it here; the
// catalog stores it beside the signature (migration 0013) and reports show
// it. It is declared here, once, so that the catalog needs no verifier.
//
// TimeSource "" means unknown: the signature was stored before the catalog
// recorded evidence (schema 13) and has not been re-verified since;
// `regimport verify` fills it. A signature that did not verify has the
// signer, time and certificate fields empty (what an untrusted signature
// says of itself is no evidence) and TimeSource "none".
type SignatureEvidence struct {
	// KeyFingerprint is the key that verified the signature: the OpenPGP
	// primary-key fingerprint (upper-case hex) for simple signing, the
	// SHA-256 of the PKIX DER public key (lower-case hex) for sigstore and
	// notation.
	KeyFingerprint string `json:"keyFingerprint"`
	// CertificateSubject, CertificateIssuer and OIDCIssuer name a
	// certificate-signed (keyless) signer: the certificate's e-mail or URI
	// SAN (else its CN), its issuing CA, and the OIDC issuer Fulcio recorded.
	CertificateSubject string `json:"certificateSubject"`
	CertificateIssuer  string `json:"certificateIssuer"`
	OIDCIssuer         string `json:"oidcIssuer"`
	// CertificateNotBefore and CertificateNotAfter are the signing
	// certificate's validity; zero without a certificate.
	CertificateNotBefore time.Time `json:"certificateNotBefore"`
	CertificateNotAfter  time.Time `json:"certificateNotAfter"`
	// SigningTime is when the signature was made, according to TimeSource
	// (transparency-log, rfc3161, notation-signing-time, signer, none);
	// TimeVerified says a third party attested it and the verifier checked
	// that attestation (only transparency-log and rfc3161 times are).
	SigningTime  time.Time `json:"signingTime"`
	TimeSource   string    `json:"timeSource"`
	TimeVerified bool      `json:"timeVerified"`
	// SignatureExpiry is the expiry the signer set (notation); zero: none.
	SignatureExpiry time.Time `json:"signatureExpiry"`
	// TLogPresent: the signature carries transparency-log evidence;
	// TLogVerified: it was checked against a log key the policy or trusted
	// root names. TimestampPresent and TimestampVerified: the same for an
	// RFC 3161 timestamp.
	TLogPresent       bool `json:"tlogPresent"`
	TLogVerified      bool `json:"tlogVerified"`
	TimestampPresent  bool `json:"timestampPresent"`
	TimestampVerified bool `json:"timestampVerified"`
}

// Known reports whether the evidence was recorded at all (see TimeSource).
func (e SignatureEvidence) Known() bool { return e.TimeSource != "" }
