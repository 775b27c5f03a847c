package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/docker/reference"
)

// SignatureOptions say where signatures come from and how they are judged.
// With a nil Verifier, signatures are not looked up at all.
type SignatureOptions struct {
	Verifier *signatures.Verifier
	// Registries is registries.d (lookaside stores, sigstore attachments); nil: none.
	Registries *signatures.Registries
	// Referrers remembers which hosts lack the OCI referrers API for the run
	// (nil: a fresh lookup per manifest, one request more on such hosts).
	Referrers *registry.ReferrerLookup
}

func (o SignatureOptions) enabled() bool { return o.Verifier != nil }

// identity is the reference signatures are checked against: the repository
// as the user wrote it, with the tag when the image was imported by tag.
func identity(t target) reference.Named {
	if t.tag != "" {
		if tagged, err := reference.WithTag(t.repo, t.tag); err == nil {
			return tagged
		}
	}
	return t.repo
}

// verify looks up every signature of one manifest (the registry's extension
// API when it has one, else the lookaside store; plus sigstore attachments
// when enabled or required) within the caller's worker, and verifies them
// offline. A signature store that cannot be read is part of the result (the
// image stays importable), never a reason to drop the image.
func (r *run) verify(ctx context.Context, repo *registry.Repository, t target, m *registry.Manifest) (*catalog.Verification, error) {
	so := r.imp.sigs
	if !so.enabled() {
		return nil, nil
	}
	ref := identity(t)
	sigs, lookupErr := r.fetchSignatures(ctx, repo, ref, m)
	refSigs, atts, refErr := r.referrerArtifacts(ctx, repo, m) // OCI 1.1 referrers: bundles, notation, attestations
	sigs, lookupErr = append(sigs, refSigs...), errors.Join(lookupErr, refErr)
	start := time.Now()
	res, err := so.Verifier.Verify(ctx, signatures.Image{Reference: ref, Manifest: m.Bytes, ManifestDigest: m.Digest}, sigs)
	spent := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("verify signatures: %w", err)
	}
	v := &catalog.Verification{Verdict: string(res.Verdict), Reason: res.Reason, ReferrersChecked: refErr == nil || len(refSigs)+len(atts) > 0,
		Attestations: r.verifyAttestations(ctx, ref, m, atts)}
	if lookupErr != nil {
		r.imp.log.Warn("signature lookup failed", "reference", t.String(), "image", m.Digest, "error", lookupErr)
		if res.Verdict == signatures.VerdictRejected {
			v.Reason = fmt.Sprintf("%s (signature lookup failed: %v)", v.Reason, lookupErr)
		}
	}
	for i, s := range sigs {
		v.Signatures = append(v.Signatures, catalog.SignatureRecord{
			Source: s.Source, Type: s.Type, Content: s.Content, SigstoreSignature: s.SigstoreSignature,
			Certificate: s.Certificate, Chain: s.Chain, Bundle: s.Bundle, Object: res.Signatures[i],
		})
	}
	r.mu.Lock()
	r.summary.Verdicts[res.Verdict]++
	r.summary.VerifyTime += spent
	r.mu.Unlock()
	return v, nil
}

func (r *run) fetchSignatures(ctx context.Context, repo *registry.Repository, ref reference.Named, m *registry.Manifest) ([]signatures.Signature, error) {
	so := r.imp.sigs
	var sigs []signatures.Signature
	var errs []error
	body, supported, err := repo.SignaturesExtension(ctx, m.Source, m.Digest)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("signature extension API: %w", err))
	case supported && body != nil:
		found, _, err := signatures.ParseExtensionResponse(body)
		if err != nil {
			errs = append(errs, fmt.Errorf("signature extension API: %w", err))
		}
		sigs = append(sigs, found...)
	}
	useSigstore := so.Verifier.RequiresSigstoreAttachments(ref)
	if !supported && so.Registries != nil {
		base, attachments, err := so.Registries.LookasideBase(ref)
		useSigstore = useSigstore || attachments
		if err != nil {
			errs = append(errs, err)
		} else {
			found, err := signatures.FetchLookaside(ctx, r.imp.reg.BlobClient(false), base, m.Digest)
			if err != nil {
				errs = append(errs, fmt.Errorf("lookaside: %w", err))
			}
			sigs = append(sigs, found...)
		}
	}
	if useSigstore {
		found, err := r.sigstoreAttachments(ctx, repo, m)
		if err != nil {
			errs = append(errs, fmt.Errorf("sigstore attachment: %w", err))
		}
		sigs = append(sigs, found...)
	}
	return sigs, errors.Join(errs...)
}

// sigstoreAttachments reads cosign's sha256-<hex>.sig manifest and its
// signature payloads; a missing attachment is one 404.
func (r *run) sigstoreAttachments(ctx context.Context, repo *registry.Repository, m *registry.Manifest) ([]signatures.Signature, error) {
	tag, err := signatures.SigstoreAttachmentTag(m.Digest)
	if err != nil {
		return nil, err
	}
	att, err := repo.GetManifest(ctx, tag)
	if errors.Is(err, registry.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	layers, err := signatures.ParseSigstoreAttachment(att.Bytes)
	if err != nil {
		return nil, err
	}
	var out []signatures.Signature
	var errs []error
	for _, l := range layers {
		payload, err := repo.GetBlob(ctx, att.Source, l.Digest, signatures.MaxSignatureSize)
		if err != nil {
			errs = append(errs, fmt.Errorf("payload %s: %w", l.Digest, err))
			continue
		}
		s, err := l.WithPayload(payload)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}
