package signatures

import (
	"strings"
	"time"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/tspclient-go"
)

// notationTimestamp returns the genTime of a notation envelope's RFC 3161
// timestamp countersignature when notation-go verified it, and false when
// it did not. notation-go's outcome does not say so itself: its authentic
// timestamp result has no error both when it verified the countersignature
// and when it skipped the check. It verifies one (against the tsa trust
// store, the TSA chain and the signing chain's validity at the stamped
// time) exactly when the envelope uses the notary.x509 signing scheme, the
// applicable trust policy names a tsa trust store, and verifyTimestamp is
// "always", or "afterCertExpiry" with a certificate of the signing chain
// expired (notation-go/verifier.verifyTimestamp); the check must also be
// enforced, not merely logged. Those are the conditions read here.
func (n *notationVerifier) notationTimestamp(artifact string, outcome *notation.VerificationOutcome, now time.Time) (time.Time, bool) {
	info := outcome.EnvelopeContent.SignerInfo
	if len(info.UnsignedAttributes.TimestampSignature) == 0 || info.SignedAttributes.SigningScheme != signature.SigningSchemeX509 ||
		outcome.VerificationLevel == nil || outcome.VerificationLevel.Enforcement[trustpolicy.TypeAuthenticTimestamp] != trustpolicy.ActionEnforce {
		return time.Time{}, false
	}
	pol, err := n.doc.GetApplicableTrustPolicy(artifact)
	if err != nil {
		return time.Time{}, false
	}
	tsa := false
	for _, s := range pol.TrustStores {
		if kind, _, _ := strings.Cut(s, ":"); kind == "tsa" {
			tsa = true
		}
	}
	if !tsa {
		return time.Time{}, false
	}
	if pol.SignatureVerification.VerifyTimestamp == trustpolicy.OptionAfterCertExpiry {
		expired := false
		for _, c := range info.CertificateChain {
			expired = expired || now.After(c.NotAfter)
		}
		if !expired {
			return time.Time{}, false
		}
	}
	passed := false
	for _, r := range outcome.VerificationResults {
		if r != nil && r.Type == trustpolicy.TypeAuthenticTimestamp {
			passed = r.Error == nil
		}
	}
	if !passed {
		return time.Time{}, false
	}
	// The countersignature verified: read its time, as notation-go did.
	token, err := tspclient.ParseSignedToken(info.UnsignedAttributes.TimestampSignature)
	if err != nil {
		return time.Time{}, false
	}
	tst, err := token.Info()
	if err != nil {
		return time.Time{}, false
	}
	ts, err := tst.Validate(info.Signature)
	if err != nil {
		return time.Time{}, false
	}
	return ts.Value.UTC(), true
}
