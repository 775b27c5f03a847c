package signatures

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
)

// Referrers that could not be used still get a record, so that an image
// whose registry lists junk is never silently treated as unsigned: a
// referrer that could not be read, and the referrers beyond the cap. Their
// Content is a small JSON note (kept in the catalog like any content), so
// that re-verification gives the same result.
const (
	ReasonUnreadableReferrer = "UnreadableReferrer" // listed, but its manifest or blob could not be read
	ReasonTooManyReferrers   = "TooManyReferrers"   // beyond the cap of referrers read per image

	referrerNoteKey = "regimport.io/referrer-problem"
)

type referrerNote struct {
	Problem  string `json:"regimport.io/referrer-problem"`
	Referrer string `json:"referrer,omitempty"`
	Message  string `json:"message"`
}

// UnreadableReferrer is the record of a listed referrer that could not be read.
func UnreadableReferrer(typ string, referrer digest.Digest, err error) Signature {
	b, _ := json.Marshal(referrerNote{Problem: ReasonUnreadableReferrer, Referrer: referrer.String(), Message: err.Error()})
	return Signature{Source: SourceReferrers, Type: typ, Content: b}
}

// ReferrersBeyondCap is the one record standing for the n referrers of a
// manifest that were not read because of the cap.
func ReferrersBeyondCap(typ string, n, limit int) Signature {
	b, _ := json.Marshal(referrerNote{Problem: ReasonTooManyReferrers,
		Message: fmt.Sprintf("the registry lists %d more referrers of this manifest than the %d read; they were not evaluated", n, limit)})
	return Signature{Source: SourceReferrers, Type: typ, Content: b}
}

// referrerProblem recognizes the notes above.
func referrerProblem(s Signature) (check, bool) {
	if s.Source != SourceReferrers || !bytes.Contains(s.Content, []byte(referrerNoteKey)) {
		return check{}, false
	}
	var n referrerNote
	if json.Unmarshal(s.Content, &n) != nil || (n.Problem != ReasonUnreadableReferrer && n.Problem != ReasonTooManyReferrers) {
		return check{}, false
	}
	msg := n.Message
	if n.Referrer != "" {
		msg = fmt.Sprintf("referrer %s: %s", n.Referrer, n.Message)
	}
	return failed(stageParse, n.Problem, "%s", msg), true
}

// Attestation is what is known of one in-toto attestation found as a
// referrer: its predicate type, who signed it and whether it verified under
// the policy's sigstoreSigned requirements (as signatures do).
type Attestation struct {
	PredicateType string
	Signer        string // key fingerprint or certificate subject, when verified
	Verified      bool
	Reason        string // ReasonVerified or why not
	Message       string
	// Evidence is who signed it, when and on what evidence; see [Evidence].
	Evidence Evidence
}

// VerifyAttestation checks one attestation bundle for img, offline. Its
// predicate type is read from the content whether or not it verifies (an
// auditor wants to know an SBOM exists even if unsigned by a trusted key).
func (v *Verifier) VerifyAttestation(ctx context.Context, img Image, bundleJSON []byte) Attestation {
	kind, err := BundleKind(bundleJSON)
	if err != nil {
		return Attestation{Reason: ReasonCorruptSignature, Message: err.Error(), Evidence: noEvidence()}
	}
	a := Attestation{PredicateType: kind, Evidence: untrustedEvidence(carriedEvidence(Signature{Type: TypeSigstoreBundle, Content: bundleJSON}))}
	if v.policy == nil {
		a.Reason, a.Message = ReasonNoPolicy, "not evaluated: no signature policy is configured"
		return a
	}
	ref, err := policyReference(img.Reference, img.ManifestDigest)
	if err != nil {
		a.Reason, a.Message = ReasonPolicyEvaluationFailed, err.Error()
		return a
	}
	var best check
	for _, r := range v.prepared(scope(v.policy, ref)) {
		if ctx.Err() != nil {
			a.Reason, a.Message = ReasonPolicyEvaluationFailed, ctx.Err().Error()
			return a
		}
		if r.kind != kindSigstore {
			continue
		}
		c := v.verifyBundle(r, Signature{Source: SourceReferrers, Type: TypeSigstoreBundle, Content: bundleJSON}, img.ManifestDigest, v.now())
		if c.stage == stageAccepted {
			a.Verified, a.Reason, a.Message = true, ReasonVerified, c.message
			a.Signer = signerName(c.claims.issuedTo)
			a.Signer = strings.TrimPrefix(a.Signer, "key ")
			a.Evidence = trustedEvidence(c.claims.evidence, a.Evidence)
			return a
		}
		if c.stage >= best.stage {
			best = c
		}
	}
	if best.reason == "" {
		best = failed(stageParse, ReasonNoPolicyRequirement, "no sigstoreSigned requirement of the policy applies to this image")
	}
	a.Reason, a.Message = best.reason, best.message
	return a
}

func isReferrerProblem(s Signature) bool {
	_, ok := referrerProblem(s)
	return ok
}
