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
	imagev1 "github.com/openshift/api/image/v1"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	corev1 "k8s.io/api/core/v1"
)

// verifySimple checks a simple-signing blob against the GPG keys of r: the OpenPGP
// signature (ourselves, to learn the signer, the signing time and why it fails), then
// the payload and the manifest digest (containers/image's strict parser). The
// identity rule is left to the policy evaluation that follows.
func verifySimple(r *requirement, s Signature, manifestBlob []byte) check {
	untrustedInfo, err := signature.GetUntrustedSignatureInformationWithoutVerifying(s.Content)
	if err != nil {
		return failed(stageParse, ReasonCorruptSignature, "not a simple signing signature: %v", err)
	}
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

	cl := &claims{
		sigType:  simpleSigningSignatureType,
		digest:   verified.DockerManifestDigest,
		identity: verified.DockerReference,
		issuedTo: imagev1.SignatureSubject{PublicKeyID: fp},
	}
	if id := md.SignedBy.Entity.PrimaryIdentity(); id != nil {
		cl.issuedTo.CommonName = id.Name
	}
	cl.evidence.KeyFingerprint = fp
	if md.Signature != nil {
		cl.created = md.Signature.CreationTime
		cl.evidence.setTime(md.Signature.CreationTime, TimeSourceSigner, false)
	}
	cl.creator, cl.timestamp = optionalClaims(payload)
	return check{stage: stagePolicy, trusted: corev1.ConditionFalse, forImage: corev1.ConditionUnknown, claims: cl}
}

// fingerprint is the primary-key fingerprint, upper-case hex as gpg (and
// containers/image) print it.
func fingerprint(e *openpgp.Entity) string {
	return strings.ToUpper(fmt.Sprintf("%x", e.PrimaryKey.Fingerprint))
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
