package signatures

import (
	"encoding/json"

	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/signature"
)

// The fast path: accepting a simple signature, and an image, without a
// containers/image PolicyContext.
//
// containers/image's prSignedBy builds a new OpenPGP keyring from the key
// file for every signature it evaluates, and Verify used to evaluate each
// signature twice that way (the whole policy, then the requirement alone)
// on top of its own check. The fast path reuses the requirement's
// mechanism instead, and it only ever accepts: whenever it cannot prove
// that containers/image accepts, the PolicyContext decides (and words the
// rejection), so every verdict is still containers/image's.
//
// Why an acceptance here is containers/image's acceptance, for a signedBy
// GPGKeys requirement r and a simple signature s (prSignedBy's
// isSignatureAuthorAccepted, policy_eval_signedby.go):
//   - Its mechanism and trusted identities come from
//     newEphemeralGPGSigningMechanism over the bytes of r's one key source;
//     r.mech is NewEphemeralGPGSigningMechanism over the same bytes (read
//     once, by NewVerifier), which is that function. r.exactMech says so;
//     with several key files the fast path is off.
//   - verifySimple has already run containers/image's own
//     verifyAndExtractSignature through
//     VerifyImageManifestSignatureUsingKeyIdentityList with that mechanism,
//     those identities and the image's manifest (the bytes the in-memory
//     image returns): the OpenPGP signature, the key, the strict payload
//     parser and the manifest digest all passed. Its reference rule was
//     compared with the signature's own claim, so it always passes.
//   - What is left is the signedIdentity rule against the image's docker
//     reference: identityAccepts, which reimplements containers/image's
//     policy_reference_match.go for the rules it knows; any other rule
//     (remapIdentity) goes to the PolicyContext.
//
// The image is accepted when every requirement in scope (selected as
// PolicyContext.requirementsForImageRef selects, see scope) is
// insecureAcceptAnything or a signedBy that accepted one of the image's
// simple signatures: IsRunningImageAllowed requires each requirement, and
// prSignedBy is satisfied by any one accepted signature. Anything else
// (reject, sigstoreSigned, signedBaseLayer, an empty scope, sigstore
// signatures among the image's) is left to the PolicyContext.
//
// One difference remains: containers/image would read the key file at each
// evaluation, the fast path uses what NewVerifier read. A key file replaced
// during a run was already ignored by our own checks.

// identityRule is a signedIdentity rule as policy JSON spells it.
type identityRule struct {
	Type             string `json:"type"`
	DockerReference  string `json:"dockerReference"`
	DockerRepository string `json:"dockerRepository"`
}

// fastAccepts reports whether containers/image's evaluation of r alone
// provably accepts the signature whose verified claims (from verifySimple)
// are cl, on the image of ev. False means: ask containers/image.
func fastAccepts(r *requirement, ev *evaluation, cl *claims) bool {
	if r.kind != kindSignedBy || !r.exactMech || r.unsupported != "" || len(r.keyIDs) == 0 || cl == nil {
		return false
	}
	if cl.sigType != simpleSigningSignatureType {
		return false
	}
	intended := ev.ref.DockerReference()
	if intended == nil {
		return false
	}
	return identityAccepts(r.rule, intended, cl.identity)
}

// decodeIdentityRule decodes a signedIdentity rule; nil when there is none
// or it does not decode, which identityAccepts never accepts.
func decodeIdentityRule(ruleJSON json.RawMessage) *identityRule {
	var rule identityRule
	if len(ruleJSON) == 0 || json.Unmarshal(ruleJSON, &rule) != nil {
		return nil
	}
	return &rule
}

// identityAccepts is containers/image's matchesDockerReference for the
// rules it handles (policy_reference_match.go), false for any other.
func identityAccepts(rule *identityRule, intended reference.Named, signed string) bool {
	if rule == nil {
		return false
	}
	sig, err := reference.ParseNormalizedNamed(signed)
	if err != nil {
		return false
	}
	switch rule.Type {
	case "matchExact":
		if reference.IsNameOnly(intended) || reference.IsNameOnly(sig) {
			return false
		}
		return sig.String() == intended.String()
	case "matchRepoDigestOrExact":
		if reference.IsNameOnly(sig) {
			return false
		}
		switch intended.(type) {
		case reference.NamedTagged: // also with a digest
			return sig.String() == intended.String()
		case reference.Canonical:
			return sig.Name() == intended.Name()
		default:
			return false
		}
	case "matchRepository":
		return sig.Name() == intended.Name()
	case "exactReference":
		want, err := reference.ParseNormalizedNamed(rule.DockerReference)
		if err != nil || reference.IsNameOnly(want) || reference.IsNameOnly(sig) {
			return false
		}
		return sig.String() == want.String()
	case "exactRepository":
		want, err := reference.ParseNormalizedNamed(rule.DockerRepository)
		if err != nil {
			return false
		}
		return sig.Name() == want.Name()
	default:
		return false
	}
}

// fastAllowed reports whether the image is provably allowed by the policy
// requirements in scope (containers/image's, unprepared), given which
// requirement accepted each signature of input; false means: ask
// containers/image.
func (v *Verifier) fastAllowed(inScope signature.PolicyRequirements, input []Signature, acceptedBy map[*requirement]bool) bool {
	if len(inScope) == 0 {
		return false
	}
	for _, s := range input {
		if normalizeType(s.Type) != TypeAtomic {
			return false
		}
	}
	for _, lib := range inScope {
		r, ok := v.reqs[lib]
		if !ok {
			return false
		}
		switch {
		case r.kind == kindAccept:
		case r.kind == kindSignedBy && acceptedBy[r]:
		default:
			return false
		}
	}
	return true
}
