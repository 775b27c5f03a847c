package importer

import (
	"context"
	"errors"
	"fmt"
	"time"

	digest "github.com/opencontainers/go-digest"

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

// pairIdentity is the reference a pair's signatures are checked against:
// the repository as the user wrote it, which the verifier evaluates as
// repository@digest. A pair's verdict is the policy's answer for a pull by
// digest: the reference the catalog records for the image
// (dockerImageReference), the one an image stream resolves its tags to,
// and the only pull mirrors (ImageDigestMirrorSet) serve. It depends
// neither on which tag a target named nor on the order targets arrive in,
// so every tag of the image in the repository shares it as its own. Under
// the tag a target named instead, the pair's one verdict was the first
// tag's, borrowed by the others: accepted for a tag no signature claims,
// or refused for one a signature does. How a policy would judge a pull by
// tag (a scope for one tag; matchExact or matchRepoDigestOrExact against
// a signature that claims another tag) is not recorded: README, "what a
// verdict answers".
func pairIdentity(t target) reference.Named { return t.repo }

// PairLookup is the signature lookup and policy evaluation of one
// (repository, image) pair, the unit a verdict belongs to: policy scopes,
// registries.d lookaside locations and sigstore attachments are all per
// repository. It takes the manifest already in hand (fetched in this run or
// read from the catalog) and fetches nothing but signatures.
type PairLookup struct {
	// Repository is where to look for signatures.
	Repository *registry.Repository
	// Identity is the reference the signatures are checked against
	// (pairIdentity).
	Identity reference.Named
	// Manifest is the image's manifest; its Source says where to ask for
	// signatures (nil: the repository's digest source).
	Manifest *registry.Manifest
	// Listed, when this run listed the repository's tags completely,
	// reports whether a tag was in that listing; artifact tags it did not
	// have are not asked for (listing.go). Nil: every lookup is sent.
	Listed func(tag string) bool
}

// PairResult is what a lookup found and the verdict.
type PairResult struct {
	Verification *catalog.Verification
	// LookupErr is why some signatures could not be fetched; with it the
	// verdict is never accepted unless the signatures read already satisfy
	// the policy.
	LookupErr  error
	VerifyTime time.Duration
}

// lookUpPair looks up every signature of p (the registry's extension API
// when it has one, else the lookaside store; plus sigstore attachments when
// enabled or required) and verifies them offline against the repository's
// policy. Signatures that cannot be fetched make the verdict unevaluated,
// with the reason, unless what was read is already accepted (a signature
// not read can only add to an acceptance, never take it away).
func (imp *Importer) lookUpPair(ctx context.Context, reg *registry.Client, p PairLookup) (PairResult, error) {
	so := imp.sigs
	m := p.Manifest
	if m.Source == nil {
		mm := *m
		mm.Source = p.Repository.DigestSource()
		m = &mm
	}
	sigs, lookupErr := imp.fetchSignatures(ctx, reg, p.Repository, p.Identity, m, p.Listed)
	refSigs, atts, refErr := imp.referrerArtifacts(ctx, p.Repository, m, p.Listed) // OCI 1.1 referrers: bundles, notation, attestations
	sigs, lookupErr = append(sigs, refSigs...), errors.Join(lookupErr, refErr)
	sigs, atts, budget := imp.withinSignatureLimits(sigs, atts)
	legacy, attErr := imp.legacyAttestations(ctx, p.Repository, p.Identity, m, budget) // cosign's .att (legacyatt.go), within the same limits
	lookupErr = errors.Join(lookupErr, budget.err())
	start := time.Now()
	res, err := so.Verifier.Verify(ctx, signatures.Image{Reference: p.Identity, Manifest: m.Bytes, ManifestDigest: m.Digest}, sigs)
	spent := time.Since(start)
	if err != nil {
		return PairResult{}, fmt.Errorf("verify signatures: %w", err)
	}
	v := &catalog.Verification{Repository: p.Repository.Name().Name(), Verdict: res.Verdict, Reason: res.Reason,
		ReferrersChecked: (refErr == nil && attErr == nil) || len(refSigs)+len(atts)+len(legacy) > 0,
		Attestations:     append(imp.verifyAttestations(ctx, p.Identity, m, atts), legacy...)}
	if attErr != nil {
		imp.log.Warn("cosign attestations not read", "repository", v.Repository, "image", m.Digest, "error", attErr)
	}
	if lookupErr != nil {
		imp.log.Warn("signature lookup failed", "repository", v.Repository, "image", m.Digest, "error", lookupErr)
		if res.Verdict != signatures.VerdictAccepted {
			v.Verdict, v.Reason = catalog.VerdictUnevaluated, "signatures could not be fetched: "+lookupErr.Error()
		} else {
			v.Reason = fmt.Sprintf("accepted on the signatures read; some could not be fetched: %v", lookupErr)
		}
	}
	for i, s := range sigs {
		v.Signatures = append(v.Signatures, catalog.SignatureRecord{
			Source: s.Source, Type: s.Type, Content: s.Content, SigstoreSignature: s.SigstoreSignature,
			Certificate: s.Certificate, Chain: s.Chain, Bundle: s.Bundle, Object: res.Signatures[i], Evidence: evidenceAt(res, i),
		})
	}
	return PairResult{Verification: v, LookupErr: lookupErr, VerifyTime: spent}, nil
}

// withinSignatureLimits keeps, in the order found, the signatures and
// then the attestations of one image that fit the per-image limits on
// count and total bytes: every source has its own cap, but together they
// could reach hundreds of MiB, stored and served inside every Image. The
// budget it returns is what is left for cosign's .att envelopes
// (legacyatt.go), read next; its err says what was left out, and a
// verdict that needs it is not accepted.
func (imp *Importer) withinSignatureLimits(sigs []signatures.Signature, atts []referrerBlob) ([]signatures.Signature, []referrerBlob, *signatureBudget) {
	b := &signatureBudget{maxN: imp.limits.SignaturesPerImage, maxBytes: imp.limits.SignatureBytesPerImage}
	keptSigs := sigs[:0:0]
	for _, sg := range sigs {
		if b.fits(int64(len(sg.Content) + len(sg.SigstoreSignature) + len(sg.Certificate) + len(sg.Chain) + len(sg.Bundle))) {
			keptSigs = append(keptSigs, sg)
		}
	}
	keptAtts := atts[:0:0]
	for _, a := range atts {
		if b.fits(int64(len(a.content))) {
			keptAtts = append(keptAtts, a)
		}
	}
	return keptSigs, keptAtts, b
}

// signatureBudget counts the signatures and attestations of one image,
// every source together, against Limits.SignaturesPerImage and
// SignatureBytesPerImage.
type signatureBudget struct {
	maxN, n, seen   int
	maxBytes, total int64
}

// fits takes one more item of size bytes if it fits, else counts it as
// left out.
func (b *signatureBudget) fits(size int64) bool {
	b.seen++
	if b.n+1 > b.maxN || size < 0 || b.total+size > b.maxBytes {
		return false
	}
	b.n, b.total = b.n+1, b.total+size
	return true
}

// release gives back an item fits took, of size bytes, that was not kept
// after all.
func (b *signatureBudget) release(size int64) { b.seen, b.n, b.total = b.seen-1, b.n-1, b.total-size }

// bytesLeft is how many more bytes fit.
func (b *signatureBudget) bytesLeft() int64 { return b.maxBytes - b.total }

// err wraps ErrLimit and names both limits when anything was left out.
func (b *signatureBudget) err() error {
	if left := b.seen - b.n; left > 0 {
		return fmt.Errorf("%w: %d of %d signatures and attestations left out, over the signatures-per-image limit of %d or the signature-bytes-per-image limit of %d bytes",
			ErrLimit, left, b.seen, b.maxN, b.maxBytes)
	}
	return nil
}

// verifyPair runs lookUpPair for the run and counts its verdict. A pair
// that could not be evaluated is also a failure of the run (exit code 3),
// reported under repository@digest; the image itself stays imported.
func (r *fetcher) verifyPair(ctx context.Context, p PairLookup) (*catalog.Verification, error) {
	res, err := r.imp.lookUpPair(ctx, r.reg, p)
	if err != nil {
		return nil, err
	}
	v := res.Verification
	r.mu.Lock()
	r.summary.Verdicts[signatures.Verdict(v.Verdict)]++
	r.summary.VerifyTime += res.VerifyTime
	r.mu.Unlock()
	if v.Verdict == catalog.VerdictUnevaluated {
		r.fail(catalog.Failure{Reference: v.Repository + "@" + p.Manifest.Digest.String(), Reason: v.Reason})
	}
	return v, nil
}

// usesSigstore reports whether the sigstore attachments of ref are read:
// its policy requires them or registries.d turns them on.
func (imp *Importer) usesSigstore(ref reference.Named) bool {
	so := imp.sigs
	if so.Verifier == nil {
		return false
	}
	if so.Verifier.RequiresSigstoreAttachments(ref) {
		return true
	}
	if so.Registries == nil {
		return false
	}
	_, attachments, err := so.Registries.LookasideBase(ref)
	return err == nil && attachments
}

func (imp *Importer) fetchSignatures(ctx context.Context, reg *registry.Client, repo *registry.Repository, ref reference.Named, m *registry.Manifest, listed func(string) bool) ([]signatures.Signature, error) {
	so := imp.sigs
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
			found, err := signatures.FetchLookaside(ctx, reg.BlobClient(false), base, m.Digest)
			if err != nil {
				errs = append(errs, fmt.Errorf("lookaside: %w", err))
			}
			sigs = append(sigs, found...)
		}
	}
	if useSigstore {
		found, err := sigstoreAttachments(ctx, repo, m, listed)
		if err != nil {
			errs = append(errs, fmt.Errorf("sigstore attachment: %w", err))
		}
		sigs = append(sigs, found...)
	}
	return sigs, errors.Join(errs...)
}

// sigstoreAttachments reads cosign's sha256-<hex>.sig manifest and its
// signature payloads; a missing attachment is one 404, or no request at
// all when this run's complete tag list of the repository (listed) does
// not have the tag.
func sigstoreAttachments(ctx context.Context, repo *registry.Repository, m *registry.Manifest, listed func(string) bool) ([]signatures.Signature, error) {
	tag, err := signatures.SigstoreAttachmentTag(m.Digest)
	if err != nil {
		return nil, err
	}
	if listed != nil && repo.TagsOnlyFromOrigin() && !listed(tag) {
		return nil, nil
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

// lookUpPairs looks up the signatures of each image of a target in the
// target's repository and evaluates that repository's policy: once per
// (repository, image) pair and run, and across runs only for pairs the
// catalog has no verdict for. An image stored before (by this run for
// another repository, or by an earlier run) is not fetched again: its
// manifest comes from the run's queue or the catalog. src is the source
// that served the target's manifest (nil: the repository's digest source).
func (r *fetcher) lookUpPairs(ctx context.Context, repo *registry.Repository, t target, pending []*pendingImage, src *registry.Source) error {
	if !r.imp.sigs.enabled() {
		return nil
	}
	repoName := t.repo.Name()
	for _, p := range pending {
		key := pairKey{repository: repoName, image: keyOf(p.name)}
		if _, loaded := r.pairs.LoadOrStore(key, true); loaded {
			continue
		}
		if p.rec == nil && !r.emptyAtStart {
			done, err := r.imp.cat.PairLookedUp(ctx, repoName, p.name)
			if err != nil {
				r.pairs.Delete(key)
				return err
			}
			if done {
				// A verdict made before a listed artifact tag existed is
				// made again (listing.go).
				unread, err := r.artifactTagsUnread(ctx, repoName, p.name, r.imp.usesSigstore(pairIdentity(t)))
				if err != nil {
					r.pairs.Delete(key)
					return err
				}
				if !unread {
					continue
				}
			}
		}
		m, err := r.manifestOf(ctx, p, src)
		if err == nil {
			var v *catalog.Verification
			if v, err = r.verifyPair(ctx, PairLookup{Repository: repo, Identity: pairIdentity(t), Manifest: m, Listed: r.listed(repoName)}); err == nil {
				if p.rec != nil {
					p.rec.Verification = v
				} else {
					p.verification = v
				}
				continue
			}
		}
		r.pairs.Delete(key)
		return fmt.Errorf("signatures of %s in %s: %w", p.name, repoName, err)
	}
	return nil
}

// manifestOf is the manifest of a pending image: fetched by this target,
// queued by another, or stored.
func (r *fetcher) manifestOf(ctx context.Context, p *pendingImage, src *registry.Source) (*registry.Manifest, error) {
	if p.manifest != nil {
		return p.manifest, nil
	}
	if m, ok := r.manifests.load(p.name); ok {
		return m, nil
	}
	b, mt, err := r.imp.cat.Manifest(ctx, p.name)
	if err != nil {
		return nil, err
	}
	return &registry.Manifest{Bytes: b, MediaType: mt, Digest: digest.Digest(p.name), Source: src}, nil
}

// pairsOfStoredImage looks up, for a tag that did not move, this
// repository's signatures of its image and the image's list entries where
// the catalog has no verdict of this repository yet.
func (r *fetcher) pairsOfStoredImage(ctx context.Context, t target, image string) ([]*pendingImage, error) {
	if !r.imp.sigs.enabled() {
		return nil, nil
	}
	names, err := r.imp.cat.PairsToLookUp(ctx, t.repo.Name(), image)
	if err != nil {
		return nil, err
	}
	if names, err = r.unreadTagsOf(ctx, t, image, names); err != nil || len(names) == 0 {
		return nil, err
	}
	repo, err := r.repository(t.repo)
	if err != nil {
		return nil, err
	}
	pending := make([]*pendingImage, len(names))
	for i, n := range names {
		pending[i] = &pendingImage{name: n, verdictOnly: true}
	}
	if err := r.lookUpPairs(ctx, repo, t, pending, nil); err != nil {
		return nil, err
	}
	out := pending[:0]
	for _, p := range pending {
		if p.verification != nil {
			out = append(out, p)
		}
	}
	return out, nil
}
