package importer

import (
	"context"
	"errors"
	"fmt"
	"strings"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/docker/reference"
)

// ReverifyResult is what re-verification did to one image.
type ReverifyResult struct {
	Image   string
	Verdict signatures.Verdict
	Reason  string
	Changed bool
	Err     error
}

// Reverify checks the stored signatures of stored images again, offline,
// against the verifier's policy: after a key rotation or a policy change.
// names empty means every image. Only images whose verdict or signature
// results changed get a new resourceVersion.
func Reverify(ctx context.Context, cat *catalog.Catalog, v *signatures.Verifier, names []string, each func(ReverifyResult)) error {
	walk := func(fn func(string) error) error {
		if len(names) > 0 {
			for _, n := range names {
				if err := fn(n); err != nil {
					return err
				}
			}
			return nil
		}
		after := ""
		for {
			page, err := cat.ImageNames(ctx, after, 500)
			if err != nil {
				return err
			}
			for _, n := range page {
				if err := fn(n); err != nil {
					return err
				}
			}
			if len(page) < 500 {
				return nil
			}
			after = page[len(page)-1]
		}
	}
	return walk(func(name string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		res := reverifyOne(ctx, cat, v, name)
		each(res)
		if errors.Is(res.Err, context.Canceled) {
			return res.Err
		}
		return nil
	})
}

func reverifyOne(ctx context.Context, cat *catalog.Catalog, v *signatures.Verifier, name string) ReverifyResult {
	res := ReverifyResult{Image: name}
	img, err := cat.GetImage(ctx, name)
	if err != nil {
		res.Err = err
		return res
	}
	ref, err := identityOf(ctx, cat, name, img.DockerImageReference)
	if err != nil {
		res.Err = err
		return res
	}
	stored, err := cat.StoredSignatures(ctx, name)
	if err != nil {
		res.Err = err
		return res
	}
	sigs := make([]signatures.Signature, len(stored))
	for i, s := range stored {
		sigs[i] = signatures.Signature{Source: s.Source, Type: s.Type, Content: s.Content, SigstoreSignature: s.SigstoreSignature,
			Certificate: s.Certificate, Chain: s.Chain, Bundle: s.Bundle}
	}
	out, err := v.Verify(ctx, signatures.Image{Reference: ref, Manifest: []byte(img.DockerImageManifest), ManifestDigest: digest.Digest(name)}, sigs)
	if err != nil {
		res.Err = err
		return res
	}
	ver := catalog.Verification{Verdict: string(out.Verdict), Reason: out.Reason}
	if ver.Attestations, ver.ReferrersChecked, res.Err = reverifyAttestations(ctx, cat, v, name, signatures.Image{Reference: ref,
		Manifest: []byte(img.DockerImageManifest), ManifestDigest: digest.Digest(name)}); res.Err != nil {
		return res
	}
	for i, s := range stored {
		s.Object = out.Signatures[i]
		ver.Signatures = append(ver.Signatures, s)
	}
	res.Verdict, res.Reason = out.Verdict, out.Reason
	res.Changed, res.Err = cat.UpdateVerification(ctx, name, ver)
	return res
}

// identityOf picks the reference an image was verified under at import: a
// tag that points at it (or at a list holding it), else repository@digest.
func identityOf(ctx context.Context, cat *catalog.Catalog, name, dockerImageReference string) (reference.Named, error) {
	tags, err := cat.TagsOfImage(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		lists, err := cat.ListsContaining(ctx, name)
		if err != nil {
			return nil, err
		}
		for _, l := range lists {
			if tags, err = cat.TagsOfImage(ctx, l); err != nil {
				return nil, err
			}
			if len(tags) > 0 {
				break
			}
		}
	}
	repo, _, _ := strings.Cut(dockerImageReference, "@")
	for _, t := range tags {
		if strings.HasPrefix(t, repo+":") {
			return reference.ParseNormalizedNamed(t)
		}
	}
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return nil, fmt.Errorf("image %s: dockerImageReference %q: %w", name, dockerImageReference, err)
	}
	return named, nil
}

// reverifyAttestations judges the stored attestation bundles of an image again.
func reverifyAttestations(ctx context.Context, cat *catalog.Catalog, v *signatures.Verifier, name string, img signatures.Image) ([]catalog.AttestationRecord, bool, error) {
	stored, checked, err := cat.StoredAttestations(ctx, name)
	if err != nil || !checked {
		return nil, false, err
	}
	for i, a := range stored {
		r := v.VerifyAttestation(ctx, img, a.Content)
		stored[i].PredicateType, stored[i].Signer, stored[i].Verified, stored[i].Reason, stored[i].Message = r.PredicateType, r.Signer, r.Verified, r.Reason, r.Message
	}
	return stored, true, nil
}
