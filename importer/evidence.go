package importer

import (
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/signatures"
)

// signatureEvidence is the catalog's record of what the verifier
// established about a signature (the catalog knows no verifier types).
func signatureEvidence(e signatures.Evidence) catalog.SignatureEvidence {
	return catalog.SignatureEvidence{
		KeyFingerprint: e.KeyFingerprint, CertificateSubject: e.CertificateSubject, CertificateIssuer: e.CertificateIssuer,
		OIDCIssuer: e.OIDCIssuer, CertificateNotBefore: e.CertificateNotBefore, CertificateNotAfter: e.CertificateNotAfter,
		SigningTime: e.SigningTime, TimeSource: string(e.TimeSource), TimeVerified: e.TimeVerified, SignatureExpiry: e.SignatureExpiry,
		TLogPresent: e.TLogPresent, TLogVerified: e.TLogVerified, TimestampPresent: e.TimestampPresent, TimestampVerified: e.TimestampVerified,
	}
}

// evidenceAt is the evidence of the i-th signature of a result; a result
// without it (none is expected) records TimeSource none rather than
// unknown, since the signature was verified.
func evidenceAt(res signatures.Result, i int) catalog.SignatureEvidence {
	if i < len(res.Evidence) {
		return signatureEvidence(res.Evidence[i])
	}
	return catalog.SignatureEvidence{TimeSource: string(signatures.TimeSourceNone)}
}
