package signatures

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	imagev1 "github.com/openshift/api/image/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	corev1 "k8s.io/api/core/v1"
)

// verifySimple checks a simple-signing blob against the GPG keys of r: the OpenPGP
// signature, the payload (containers/image's strict parser) and the manifest digest,
// with containers/image's code and r's mechanism (verifiedSimple); when that fails,
// again step by step to say why (checkSimple). The identity rule is left to the
// policy evaluation that follows.
func verifySimple(r *requirement, s Signature, manifestBlob []byte) check {
	if c, ok := verifiedSimple(r, s, manifestBlob); ok {
		return c
	}
	untrustedInfo, err := signature.GetUntrustedSignatureInformationWithoutVerifying(s.Content)
	if err != nil {
		return failed(stageParse, ReasonCorruptSignature, "not a simple signing signature: %v", err)
	}
	return checkSimple(r, s, manifestBlob, untrustedInfo)
}

// checkSimple is verifySimple step by step, to say why a signature fails:
// the OpenPGP signature with go-crypto, then containers/image's checks.
func checkSimple(r *requirement, s Signature, manifestBlob []byte, untrustedInfo *signature.UntrustedSignatureInformation) check {
	md, err := openpgp.ReadMessage(bytes.NewReader(s.Content), r.keyring, nil, nil)
	if err != nil {
		return failed(stageParse, ReasonCorruptSignature, "reading the OpenPGP message: %v", err)
	}
	if !md.IsSigned {
		return failed(stageParse, ReasonCorruptSignature, "the OpenPGP message is not signed")
	}
	if md.SignedBy == nil {
		return failed(stageKey, ReasonUnknownKey, "signed by key ID %016X, which is not among the %d keys of %s",
			md.SignedByKeyId, len(r.keyIDs), r.desc)
	}
	payload, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, MaxSignatureSize+1))
	if err != nil {
		return failed(stageSignature, ReasonInvalidSignature, "reading the signed payload: %v", err)
	}
	if md.SignatureError != nil {
		if errors.Is(md.SignatureError, pgperrors.ErrKeyExpired) || errors.Is(md.SignatureError, pgperrors.ErrSignatureExpired) {
			return failed(stageSignature, ReasonKeyExpired, "key %s: %v", fingerprint(md.SignedBy.Entity), md.SignatureError)
		}
		return failed(stageSignature, ReasonInvalidSignature, "signature by key %s does not verify: %v", fingerprint(md.SignedBy.Entity), md.SignatureError)
	}
	fp := fingerprint(md.SignedBy.Entity)

	verified, keyIdentity, err := signature.VerifyImageManifestSignatureUsingKeyIdentityList(
		s.Content, manifestBlob, untrustedInfo.UntrustedDockerReference, r.mech, r.keyIDs)
	if err != nil {
		if ok, _ := manifest.MatchesDigest(manifestBlob, untrustedInfo.UntrustedDockerManifestDigest); !ok {
			c := failed(stageDigest, ReasonDigestMismatch, "signed by key %s for manifest digest %s, not this manifest's", fp, untrustedInfo.UntrustedDockerManifestDigest)
			c.forImage = corev1.ConditionFalse
			return c
		}
		return failed(stageParse, ReasonCorruptSignature, "signed by key %s, payload rejected: %v", fp, err)
	}
	if keyIdentity != fp { // the same keyring on both sides: should not happen
		return failed(stageSignature, ReasonInvalidSignature, "containers/image attributes the signature to key %s, go-crypto to %s", keyIdentity, fp)
	}

	creator, timestamp := optionalClaims(payload)
	return simpleClaims(verified, md.SignedBy.Entity, md.Signature, creator, timestamp)
}

// verifiedSimple is verifySimple's path for a signature that verifies: one
// OpenPGP verification, containers/image's, instead of ours and then its.
// The payload and the signature packet are read first without checking, for
// the identity to hand containers/image (which compares it with the one it
// parses from the verified payload, so a wrong guess is only a false here)
// and for the signing time (deterministic parsing of the same bytes: the
// packet go-crypto checks is the last one from the key of the last one-pass
// header). The signer is the key of r that containers/image names. Any
// failure is false: verifySimple then checks step by step to say why.
func verifiedSimple(r *requirement, s Signature, manifestBlob []byte) (check, bool) {
	md, err := openpgp.ReadMessage(bytes.NewReader(s.Content), openpgp.EntityList{}, nil, nil)
	if err != nil || !md.IsSigned {
		return check{}, false
	}
	payload, err := io.ReadAll(io.LimitReader(md.UnverifiedBody, MaxSignatureSize+1))
	if err != nil {
		return check{}, false
	}
	var sig *packet.Signature
	for _, p := range md.UnverifiedSignatures {
		if p.IssuerKeyId != nil && *p.IssuerKeyId == md.SignedByKeyId {
			sig = p
		}
	}
	var claimed payloadClaims
	if sig == nil || json.Unmarshal(payload, &claimed) != nil {
		return check{}, false
	}
	verified, keyIdentity, err := signature.VerifyImageManifestSignatureUsingKeyIdentityList(
		s.Content, manifestBlob, claimed.Critical.Identity.DockerReference, r.mech, r.keyIDs)
	if err != nil {
		return check{}, false
	}
	for _, e := range r.keyring {
		if fingerprint(e) == keyIdentity {
			creator, timestamp := claimed.optional()
			return simpleClaims(verified, e, sig, creator, timestamp), true
		}
	}
	return check{}, false
}

// simpleClaims are the claims of a verified simple signature, before the
// identity rule; creator and timestamp are its payload's optional claims.
func simpleClaims(verified *signature.Signature, signer *openpgp.Entity, sig *packet.Signature, creator *string, timestamp *int64) check {
	fp := fingerprint(signer)
	cl := &claims{
		sigType:  simpleSigningSignatureType,
		digest:   verified.DockerManifestDigest,
		identity: verified.DockerReference,
		issuedTo: imagev1.SignatureSubject{PublicKeyID: fp},
	}
	if id := signer.PrimaryIdentity(); id != nil {
		cl.issuedTo.CommonName = id.Name
	}
	cl.evidence.KeyFingerprint = fp
	if sig != nil {
		cl.created = sig.CreationTime
		cl.evidence.setTime(sig.CreationTime, TimeSourceSigner, false)
	}
	cl.creator, cl.timestamp = creator, timestamp
	return check{stage: stagePolicy, trusted: corev1.ConditionFalse, forImage: corev1.ConditionUnknown, claims: cl}
}

// fingerprint is the primary-key fingerprint, upper-case hex as gpg (and
// containers/image) print it.
func fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
}

// payloadClaims is what verifiedSimple reads of a payload before it is
// verified, in one decode: the identity it claims, to hand containers/image,
// and the optional claims, kept once containers/image has verified it. A
// payload this does not decode goes the step-by-step way (checkSimple),
// whose optionalClaims reads "optional" alone, as before.
type payloadClaims struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
	} `json:"critical"`
	Optional map[string]json.RawMessage `json:"optional"`
}

// optionalClaims reads optional.creator and optional.timestamp of a verified
// payload (simple signing and cosign use the same names). Anything unexpected in
// "optional" is ignored, as containers/image ignores it.
func optionalClaims(payload []byte) (creator *string, timestamp *int64) {
	var p struct {
		Optional map[string]json.RawMessage `json:"optional"`
	}
	if json.Unmarshal(payload, &p) != nil {
		return nil, nil
	}
	return (&payloadClaims{Optional: p.Optional}).optional()
}

// optional is optionalClaims of a decoded payload.
func (p *payloadClaims) optional() (creator *string, timestamp *int64) {
	if raw, ok := p.Optional["creator"]; ok {
		var c string
		if json.Unmarshal(raw, &c) == nil {
			creator = &c
		}
	}
	if raw, ok := p.Optional["timestamp"]; ok {
		var f float64
		if json.Unmarshal(raw, &f) == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			t := int64(f)
			timestamp = &t
		}
	}
	return creator, timestamp
}
