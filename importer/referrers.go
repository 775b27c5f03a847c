package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/docker/reference"
)

// referrerArtifacts reads the OCI 1.1 referrers of one manifest that carry
// signatures or attestations (cosign v3 sigstore bundles, notation
// signatures): one request when there are none. Signatures come back to be
// verified with the others; attestation bundles (any in-toto predicate other
// than cosign's image signature) are returned apart, as audit facts. A
// referrer that cannot be read, and those beyond the cap, become records
// that say so (Trusted=False), never a dropped image.
func (imp *Importer) referrerArtifacts(ctx context.Context, repo *registry.Repository, m *registry.Manifest, listed func(string) bool) ([]signatures.Signature, []referrerBlob, error) {
	lookup := imp.sigs.Referrers
	if lookup == nil {
		lookup = &registry.ReferrerLookup{}
	}
	list, err := lookup.FindListed(ctx, repo, m.Source, m.Digest, listed, signatures.BundleMediaType, signatures.NotationArtifactType)
	if err != nil {
		return nil, nil, err
	}
	var sigs []signatures.Signature
	var atts []referrerBlob
	var unreadable int
	var firstErr error
	for _, it := range list.Items {
		typ := signatures.TypeSigstoreBundle
		if it.ArtifactType == signatures.NotationArtifactType {
			typ = signatures.TypeNotation
		}
		blob, err := readReferrer(ctx, repo, m.Digest, it)
		if err != nil {
			if unreadable++; firstErr == nil {
				firstErr = err
			}
			sigs = append(sigs, signatures.UnreadableReferrer(typ, it.Digest, err))
			continue
		}
		if typ == signatures.TypeSigstoreBundle {
			if kind, err := signatures.BundleKind(blob); err == nil && kind != signatures.CosignSignPredicate && kind != signatures.MessageSignatureType {
				atts = append(atts, referrerBlob{digest: it.Digest, content: blob})
				continue
			}
		}
		sigs = append(sigs, signatures.Signature{Source: signatures.SourceReferrers, Type: typ, Content: blob})
	}
	// One short error for the pair's reason (each referrer has its own
	// record with the details): a verdict reason is not a log.
	var errs []error
	if unreadable > 0 {
		errs = append(errs, fmt.Errorf("%d of %d referrers could not be read (first: %w)", unreadable, len(list.Items), firstErr))
	}
	if list.Beyond > 0 {
		sigs = append(sigs, signatures.ReferrersBeyondCap(signatures.TypeSigstoreBundle, list.Beyond, registry.MaxReferrers))
		errs = append(errs, fmt.Errorf("%d referrers beyond the cap of %d were not read", list.Beyond, registry.MaxReferrers))
	}
	return sigs, atts, errors.Join(errs...)
}

// referrerBlob is an attestation bundle as found.
type referrerBlob struct {
	digest  digest.Digest
	content []byte
}

// readReferrer fetches a referrer's manifest, checks that it names subject,
// and returns its signature layer (the bundle or the envelope), within the caps.
func readReferrer(ctx context.Context, repo *registry.Repository, subject digest.Digest, it registry.Referrer) ([]byte, error) {
	if it.Size > signatures.MaxManifestSize {
		return nil, fmt.Errorf("referrer %s: manifest of %d bytes, above the cap", it.Digest, it.Size)
	}
	am, err := repo.GetManifest(ctx, it.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("referrer %s: %w", it.Digest, err)
	}
	var mf imgspecv1.Manifest
	if err := json.Unmarshal(am.Bytes, &mf); err != nil {
		return nil, fmt.Errorf("referrer %s: %w", it.Digest, err)
	}
	if mf.Subject == nil || mf.Subject.Digest != subject {
		return nil, fmt.Errorf("referrer %s does not name %s as its subject", it.Digest, subject)
	}
	for _, l := range mf.Layers {
		if !strings.HasPrefix(l.MediaType, "application/vnd.dev.sigstore.bundle") &&
			l.MediaType != signatures.NotationJWSMediaType && l.MediaType != signatures.NotationCOSEMediaType {
			continue
		}
		if l.Size < 0 || l.Size > signatures.MaxSignatureSize {
			return nil, fmt.Errorf("referrer %s: layer of %d bytes, above the cap of %d", it.Digest, l.Size, signatures.MaxSignatureSize)
		}
		blob, err := repo.GetBlob(ctx, am.Source, l.Digest, signatures.MaxSignatureSize)
		if err != nil {
			return nil, fmt.Errorf("referrer %s: layer %s: %w", it.Digest, l.Digest, err)
		}
		return blob, nil
	}
	return nil, fmt.Errorf("referrer %s has no bundle or signature envelope layer", it.Digest)
}

// verifyAttestations judges each attestation bundle offline and keeps it
// (capped content included) to be verified again by `regimport verify`.
func (imp *Importer) verifyAttestations(ctx context.Context, ref reference.Named, m *registry.Manifest, atts []referrerBlob) []catalog.AttestationRecord {
	out := make([]catalog.AttestationRecord, 0, len(atts))
	img := signatures.Image{Reference: ref, Manifest: m.Bytes, ManifestDigest: m.Digest}
	for _, a := range atts {
		res := imp.sigs.Verifier.VerifyAttestation(ctx, img, a.content)
		out = append(out, catalog.AttestationRecord{Referrer: a.digest.String(), PredicateType: res.PredicateType, Signer: res.Signer,
			Verified: res.Verified, Reason: res.Reason, Message: res.Message, Content: a.content})
	}
	return out
}
