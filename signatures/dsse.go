package signatures

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
)

// DSSEMediaType is the layer media type of an attestation in a legacy
// cosign attachment (`cosign attest` v1/v2 pushes them at sha256-<hex>.att).
const DSSEMediaType = "application/vnd.dsse.envelope.v1+json"

// dsseEnvelope is a DSSE envelope as cosign writes it.
type dsseEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"` // base64
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"` // base64
	} `json:"signatures"`
}

// dssePAE is DSSE's pre-authentication encoding, what is signed.
func dssePAE(payloadType string, payload []byte) []byte {
	return []byte(fmt.Sprintf("DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload))
}

// VerifyDSSEAttestation checks one legacy cosign attestation (a DSSE
// envelope whose payload is an in-toto statement) for img, offline, against
// the keys of the policy's sigstoreSigned requirements in scope. The
// predicate type is read whether or not it verifies. The statement must
// name img's manifest digest as a subject.
func (v *Verifier) VerifyDSSEAttestation(ctx context.Context, img Image, envelope []byte) Attestation {
	a := Attestation{Evidence: noEvidence()}
	var env dsseEnvelope
	if err := json.Unmarshal(envelope, &env); err != nil {
		a.Reason, a.Message = ReasonCorruptSignature, "DSSE envelope is not valid JSON: "+err.Error()
		return a
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		a.Reason, a.Message = ReasonCorruptSignature, "DSSE payload is not base64: "+err.Error()
		return a
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		a.Reason, a.Message = ReasonCorruptSignature, "in-toto statement is not valid JSON: "+err.Error()
		return a
	}
	a.PredicateType = st.PredicateType
	if v.policy == nil {
		a.Reason, a.Message = ReasonNoPolicy, "not evaluated: no signature policy is configured"
		return a
	}
	ref, err := policyReference(img.Reference, img.ManifestDigest)
	if err != nil {
		a.Reason, a.Message = ReasonPolicyEvaluationFailed, err.Error()
		return a
	}
	pae := dssePAE(env.PayloadType, payload)
	a.Reason, a.Message = ReasonNoPolicyRequirement, "no sigstoreSigned requirement with keys applies to this image"
	for _, r := range v.prepared(scope(v.policy, ref)) {
		if ctx.Err() != nil {
			a.Reason, a.Message = ReasonPolicyEvaluationFailed, ctx.Err().Error()
			return a
		}
		if r.kind != kindSigstore || len(r.keys) == 0 {
			continue
		}
		a.Reason, a.Message = ReasonUnknownKey, "not signed by a key the policy trusts here"
		for _, k := range r.keys {
			for _, s := range env.Signatures {
				sig, err := base64.StdEncoding.DecodeString(s.Sig)
				if err != nil || k.verifier.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)) != nil {
					continue
				}
				if !namesDigest(st.Subject, img.ManifestDigest.Encoded(), img.ManifestDigest.Algorithm().String()) {
					a.Reason, a.Message = ReasonDigestMismatch, "verified, but the statement's subjects do not name "+img.ManifestDigest.String()
					return a
				}
				a.Verified, a.Reason, a.Signer = true, ReasonVerified, k.fingerprint
				a.Message = "DSSE envelope verified with key " + k.fingerprint
				return a
			}
		}
	}
	return a
}

func namesDigest(subjects []struct {
	Digest map[string]string `json:"digest"`
}, hex, alg string) bool {
	for _, s := range subjects {
		if strings.EqualFold(s.Digest[alg], hex) {
			return true
		}
	}
	return false
}

// VerifyStoredAttestation judges a stored attestation again: a legacy
// cosign DSSE envelope (VerifyDSSEAttestation) or a sigstore bundle
// (VerifyAttestation), told apart by the envelope's payloadType.
func (v *Verifier) VerifyStoredAttestation(ctx context.Context, img Image, content []byte) Attestation {
	var probe struct {
		PayloadType *string `json:"payloadType"`
	}
	if json.Unmarshal(content, &probe) == nil && probe.PayloadType != nil {
		return v.VerifyDSSEAttestation(ctx, img, content)
	}
	return v.VerifyAttestation(ctx, img, content)
}
