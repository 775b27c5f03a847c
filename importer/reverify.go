package importer

import (
	"context"
	"errors"
	"sync"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/docker/reference"
)

// ReverifyResult is what re-verification did to one (repository, image) pair.
type ReverifyResult struct {
	Repository string
	Image      string
	Verdict    signatures.Verdict
	Reason     string
	Changed    bool
	Err        error
}

// Reverify evaluates again, offline, every (repository, image) pair the
// catalog knows of (a tag, an import by digest, an image stream's tag, each
// with the entries of a list referenced there) against the verifier's
// policy, with the signatures stored for that repository: after a key
// rotation or a policy change. names restricts it to those images. Results
// are written through the catalog's single writer (the caller holds the run
// lock); only pairs whose verdict or signature results changed give their
// image a new resourceVersion, and each change is recorded in the verdict
// history. each is called once per pair, possibly from the writer's
// goroutine, never concurrently.
func Reverify(ctx context.Context, cat catalog.Catalog, v *signatures.Verifier, names []string, each func(ReverifyResult)) error {
	w, err := cat.NewWriter(context.WithoutCancel(ctx), catalog.WriterOptions{})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	report := func(r ReverifyResult) {
		mu.Lock()
		defer mu.Unlock()
		each(r)
	}
	walkErr := func() error {
		afterImage, afterRepo := "", ""
		for {
			page, err := cat.ReferencingPairs(ctx, afterImage, afterRepo, names, 500)
			if err != nil {
				return err
			}
			for _, p := range page {
				if err := ctx.Err(); err != nil {
					return err
				}
				res, ver := reverifyPair(ctx, cat, v, p.Repository, p.Image)
				if res.Err != nil {
					report(res)
					continue
				}
				err := w.PutVerification(ctx, p.Image, ver, func(o catalog.Outcome, err error) {
					res.Changed, res.Err = o != catalog.Unchanged, err
					report(res)
				})
				if err != nil {
					return err
				}
			}
			if len(page) < 500 {
				return nil
			}
			afterImage, afterRepo = page[len(page)-1].Image, page[len(page)-1].Repository
		}
	}()
	return errors.Join(walkErr, w.Close())
}

func reverifyPair(ctx context.Context, cat catalog.Catalog, v *signatures.Verifier, repo, name string) (ReverifyResult, catalog.Verification) {
	res := ReverifyResult{Repository: repo, Image: name}
	manifest, _, err := cat.Manifest(ctx, name)
	if err != nil {
		res.Err = err
		return res, catalog.Verification{}
	}
	// As at import (pairIdentity): the repository, for a pull by digest.
	ref, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		res.Err = err
		return res, catalog.Verification{}
	}
	stored, err := cat.StoredSignatures(ctx, repo, name)
	if err != nil {
		res.Err = err
		return res, catalog.Verification{}
	}
	sigs := make([]signatures.Signature, len(stored))
	for i, s := range stored {
		sigs[i] = signatures.Signature{Source: s.Source, Type: s.Type, Content: s.Content, SigstoreSignature: s.SigstoreSignature,
			Certificate: s.Certificate, Chain: s.Chain, Bundle: s.Bundle}
	}
	out, err := v.Verify(ctx, signatures.Image{Reference: ref, Manifest: manifest, ManifestDigest: digest.Digest(name)}, sigs)
	if err != nil {
		res.Err = err
		return res, catalog.Verification{}
	}
	ver := catalog.Verification{Repository: repo, Verdict: out.Verdict, Reason: out.Reason}
	// Signatures that could not be fetched at import are still missing:
	// offline, only an acceptance on those read can settle the pair.
	if out.Verdict != signatures.VerdictAccepted {
		prev, err := cat.Verdicts(ctx, name)
		if err != nil {
			res.Err = err
			return res, catalog.Verification{}
		}
		for _, p := range prev {
			if p.Repository == repo && p.Verdict == catalog.VerdictUnevaluated {
				ver.Verdict, ver.Reason = p.Verdict, p.Reason
			}
		}
	}
	if ver.Attestations, ver.ReferrersChecked, res.Err = reverifyAttestations(ctx, cat, v, name, signatures.Image{Reference: ref,
		Manifest: manifest, ManifestDigest: digest.Digest(name)}); res.Err != nil {
		return res, catalog.Verification{}
	}
	for i, s := range stored {
		s.Object, s.Evidence = out.Signatures[i], evidenceAt(out, i)
		ver.Signatures = append(ver.Signatures, s)
	}
	res.Verdict, res.Reason = signatures.Verdict(ver.Verdict), ver.Reason
	return res, ver
}

// reverifyAttestations judges the stored attestation bundles of an image again.
func reverifyAttestations(ctx context.Context, cat catalog.Catalog, v *signatures.Verifier, name string, img signatures.Image) ([]catalog.AttestationRecord, bool, error) {
	stored, checked, err := cat.StoredAttestations(ctx, name)
	if err != nil || !checked {
		return nil, false, err
	}
	for i, a := range stored {
		r := v.VerifyStoredAttestation(ctx, img, a.Content) // bundles and legacy DSSE envelopes
		stored[i].PredicateType, stored[i].Signer, stored[i].Verified, stored[i].Reason, stored[i].Message = r.PredicateType, r.Signer, r.Verified, r.Reason, r.Message
	}
	return stored, true, nil
}
