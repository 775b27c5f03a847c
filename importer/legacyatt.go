package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/docker/reference"
)

// maxLegacyAttestations caps the envelopes read from one .att manifest.
const maxLegacyAttestations = 32

// legacyAttestations reads the attestations older cosign (`cosign attest`,
// v1 and v2) pushes at sha256-<hex>.att: an OCI manifest whose layers are
// DSSE envelopes around in-toto statements. Each is verified offline
// against the keys of the policy's sigstoreSigned requirements in scope,
// and kept with the reason when it does not verify. Read where sigstore
// attachments are (registries.d use-sigstore-attachments, or a policy
// that requires them); a missing .att tag is one 404. Each envelope counts
// within the image's signature limits (budget), by its descriptor's size
// before it is fetched: one that does not fit is neither fetched nor
// recorded, and budget.err says so.
func (imp *Importer) legacyAttestations(ctx context.Context, repo *registry.Repository, ref reference.Named, m *registry.Manifest, budget *signatureBudget) ([]catalog.AttestationRecord, error) {
	if !imp.usesSigstoreAttachments(ref) {
		return nil, nil
	}
	tag := fmt.Sprintf("%s-%s.att", m.Digest.Algorithm(), m.Digest.Encoded())
	att, err := repo.GetManifest(ctx, tag)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cosign attestation %s: %w", tag, err)
	}
	var mf imgspecv1.Manifest
	if err := json.Unmarshal(att.Bytes, &mf); err != nil {
		return nil, fmt.Errorf("cosign attestation %s: %w", tag, err)
	}
	img := signatures.Image{Reference: ref, Manifest: m.Bytes, ManifestDigest: m.Digest}
	var out []catalog.AttestationRecord
	var errs []error
	for i, l := range mf.Layers {
		if !strings.HasPrefix(l.MediaType, signatures.DSSEMediaType) {
			continue
		}
		if i >= maxLegacyAttestations {
			errs = append(errs, fmt.Errorf("cosign attestation %s: layers beyond the cap of %d were not read", tag, maxLegacyAttestations))
			break
		}
		rec := catalog.AttestationRecord{Referrer: att.Digest.String()}
		if l.Size < 0 || l.Size > signatures.MaxSignatureSize {
			if budget.fits(0) { // recorded without its content
				rec.Reason, rec.Message = signatures.ReasonTooLarge, fmt.Sprintf("DSSE envelope of %d bytes, over the cap of %d", l.Size, signatures.MaxSignatureSize)
				out = append(out, rec)
			}
			continue
		}
		if !budget.fits(l.Size) {
			continue
		}
		// The fetch may take what the descriptor reserved and what is
		// left, never more: a blob larger than it says cannot overdraw.
		env, err := repo.GetBlob(ctx, att.Source, l.Digest, min(signatures.MaxSignatureSize, l.Size+budget.bytesLeft()))
		if err != nil {
			budget.release(l.Size) // not stored: said by the error, not the limit
			errs = append(errs, fmt.Errorf("cosign attestation %s layer %s: %w", tag, l.Digest, err))
			continue
		}
		budget.total += int64(len(env)) - l.Size
		res := imp.sigs.Verifier.VerifyDSSEAttestation(ctx, img, env)
		rec.PredicateType, rec.Signer, rec.Verified, rec.Reason, rec.Message, rec.Content = res.PredicateType, res.Signer, res.Verified, res.Reason, res.Message, env
		if rec.PredicateType == "" {
			rec.PredicateType = l.Annotations["predicateType"]
		}
		out = append(out, rec)
	}
	return out, errors.Join(errs...)
}

// usesSigstoreAttachments is whether sigstore attachments are read for ref,
// as fetchSignatures decides it.
func (imp *Importer) usesSigstoreAttachments(ref reference.Named) bool {
	if imp.sigs.Verifier.RequiresSigstoreAttachments(ref) {
		return true
	}
	if imp.sigs.Registries == nil {
		return false
	}
	_, attachments, err := imp.sigs.Registries.LookasideBase(ref)
	return err == nil && attachments
}
