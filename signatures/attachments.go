package signatures

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// SigstoreLayer is one cosign signature in a sigstore attachment manifest: the
// payload blob to fetch, and the layer's annotations.
type SigstoreLayer struct {
	Digest      digest.Digest
	Size        int64
	Signature   string // base64, dev.cosignproject.cosign/signature
	Certificate string // PEM, dev.sigstore.cosign/certificate
	Chain       string // PEM, dev.sigstore.cosign/chain
	Bundle      string // JSON, dev.sigstore.cosign/bundle
}

// SigstoreAttachmentTag is the tag at which cosign stores the signatures of manifest
// d: sha256-<hex>.sig.
func SigstoreAttachmentTag(d digest.Digest) (string, error) {
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("sigstore attachment tag: %w", err)
	}
	return fmt.Sprintf("%s-%s.sig", d.Algorithm(), d.Encoded()), nil
}

// ParseSigstoreAttachment reads the manifest at the sigstore attachment tag and
// returns its signature layers (media type
// application/vnd.dev.cosign.simplesigning.v1+json) in order; other layers
// (attestations, SBOMs) are skipped. A manifest above MaxManifestSize is
// ErrTooLarge, more than MaxSignatures signature layers ErrTooManySignatures, and a
// signature layer with an invalid digest or a negative or oversized size an error.
func ParseSigstoreAttachment(manifest []byte) ([]SigstoreLayer, error) {
	if len(manifest) > MaxManifestSize {
		return nil, fmt.Errorf("sigstore attachment: %w: %d bytes, cap %d", ErrTooLarge, len(manifest), MaxManifestSize)
	}
	var m imgspecv1.Manifest
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("sigstore attachment: %w", err)
	}
	var out []SigstoreLayer
	for i, l := range m.Layers {
		if l.MediaType != SigstoreSignatureMIMEType {
			continue
		}
		if len(out) == MaxSignatures {
			return nil, fmt.Errorf("sigstore attachment: %w: more than %d signature layers", ErrTooManySignatures, MaxSignatures)
		}
		if err := l.Digest.Validate(); err != nil {
			return nil, fmt.Errorf("sigstore attachment layer %d: digest %q: %w", i, l.Digest, err)
		}
		if l.Size < 0 || l.Size > MaxSignatureSize {
			return nil, fmt.Errorf("sigstore attachment layer %d: %w: size %d, cap %d", i, ErrTooLarge, l.Size, MaxSignatureSize)
		}
		out = append(out, SigstoreLayer{
			Digest:      l.Digest,
			Size:        l.Size,
			Signature:   l.Annotations[SigstoreSignatureAnnotation],
			Certificate: l.Annotations[SigstoreCertificateAnnotation],
			Chain:       l.Annotations[SigstoreChainAnnotation],
			Bundle:      l.Annotations[SigstoreBundleAnnotation],
		})
	}
	return out, nil
}

// WithPayload returns the Signature of this layer once the caller fetched its
// payload blob, after checking the blob against the layer's digest and size.
// (The field Signature takes the name a method would have had.)
func (l SigstoreLayer) WithPayload(payload []byte) (Signature, error) {
	if len(payload) > MaxSignatureSize {
		return Signature{}, fmt.Errorf("sigstore payload %s: %w: %d bytes", l.Digest, ErrTooLarge, len(payload))
	}
	if l.Size > 0 && int64(len(payload)) != l.Size {
		return Signature{}, fmt.Errorf("sigstore payload %s: %d bytes, the manifest says %d", l.Digest, len(payload), l.Size)
	}
	if err := l.Digest.Validate(); err != nil {
		return Signature{}, fmt.Errorf("sigstore payload: digest %q: %w", l.Digest, err)
	}
	if got := l.Digest.Algorithm().FromBytes(payload); got != l.Digest {
		return Signature{}, fmt.Errorf("sigstore payload: digest %s, the manifest says %s", got, l.Digest)
	}
	s := Signature{
		Source:            SourceSigstore,
		Type:              TypeSigstore,
		Content:           payload,
		SigstoreSignature: l.Signature,
		Certificate:       l.Certificate,
		Chain:             l.Chain,
		Bundle:            l.Bundle,
	}
	s.Name = SignatureName(s)
	return s, nil
}
