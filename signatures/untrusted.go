package signatures

import (
	"encoding/base64"
	"fmt"
	"time"

	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/signature"
)

// UntrustedInfo is what a signature claims, read WITHOUT verifying it: for display
// (e.g. "signed by key ID X for Y, not trusted") only, never for a decision.
type UntrustedInfo struct {
	Type            string        // TypeAtomic or TypeSigstore
	DockerReference string        // critical.identity.docker-reference
	ManifestDigest  digest.Digest // critical.image.docker-manifest-digest
	Creator         string        // optional.creator, if any
	Timestamp       *time.Time    // optional.timestamp, if any
	KeyID           string        // simple signing: the OpenPGP key ID of the signer (16 hex digits)
}

// UntrustedSignatureInfo parses sig without verifying it.
func UntrustedSignatureInfo(sig Signature) (UntrustedInfo, error) {
	if len(sig.Content) > MaxSignatureSize {
		return UntrustedInfo{}, fmt.Errorf("untrusted signature: %w", ErrTooLarge)
	}
	switch normalizeType(sig.Type) {
	case TypeAtomic:
		info, err := signature.GetUntrustedSignatureInformationWithoutVerifying(sig.Content)
		if err != nil {
			return UntrustedInfo{}, fmt.Errorf("untrusted simple signature: %w", err)
		}
		out := UntrustedInfo{
			Type:            TypeAtomic,
			DockerReference: info.UntrustedDockerReference,
			ManifestDigest:  info.UntrustedDockerManifestDigest,
			KeyID:           info.UntrustedShortKeyIdentifier,
			Timestamp:       info.UntrustedTimestamp,
		}
		if info.UntrustedCreatorID != nil {
			out.Creator = *info.UntrustedCreatorID
		}
		return out, nil
	case TypeSigstore:
		if _, err := base64.StdEncoding.DecodeString(sig.SigstoreSignature); err != nil || sig.SigstoreSignature == "" {
			return UntrustedInfo{}, fmt.Errorf("untrusted sigstore signature: missing or invalid %s", SigstoreSignatureAnnotation)
		}
		p, d, err := parseCosignPayload(sig.Content)
		if err != nil {
			return UntrustedInfo{}, fmt.Errorf("untrusted sigstore signature: %w", err)
		}
		out := UntrustedInfo{Type: TypeSigstore, DockerReference: p.Critical.Identity.DockerReference, ManifestDigest: d}
		creator, ts := optionalClaims(sig.Content)
		if creator != nil {
			out.Creator = *creator
		}
		if ts != nil {
			t := time.Unix(*ts, 0).UTC()
			out.Timestamp = &t
		}
		return out, nil
	}
	return UntrustedInfo{}, fmt.Errorf("untrusted signature: type %q is not supported", sig.Type)
}
