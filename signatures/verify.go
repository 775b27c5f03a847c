package signatures

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Verifier evaluates signatures against one containers-policy.json. It is safe for
// concurrent use; the policy and its keys are read once, by NewVerifier.
type Verifier struct {
	policy     *signature.Policy // nil: no policy
	policyPath string
	reqs       map[signature.PolicyRequirement]*requirement
	now        func() time.Time
	log        *slog.Logger
	tempDir    string
	// trustedRoot is sigstore's trusted_root.json, for certificate-signed bundles.
	trustedRoot *root.TrustedRoot
	// notation verifies notation signatures; nil when no trust policy is configured.
	notation *notationVerifier
	// policyContexts counts containers/image PolicyContext evaluations, so
	// that tests see what the fast path (fastpath.go) saved.
	policyContexts atomic.Int64
}

// NewVerifier loads opts.PolicyPath and every key file its default and "docker"
// scopes name. A policy that does not parse, or a key or CA file that is missing or
// unreadable, is an error naming the file. An empty PolicyPath gives a Verifier whose
// verdict is always VerdictNoPolicy.
func NewVerifier(opts Options) (*Verifier, error) {
	v := &Verifier{now: opts.Now, log: opts.Logger, tempDir: opts.TempDir, policyPath: opts.PolicyPath}
	if v.now == nil {
		v.now = time.Now
	}
	if v.log == nil {
		v.log = slog.New(slog.DiscardHandler)
	}
	if opts.SigstoreTrustedRoot != "" {
		tr, err := loadTrustedRoot(opts.SigstoreTrustedRoot)
		if err != nil {
			return nil, err
		}
		v.trustedRoot = tr
	}
	if opts.NotationTrustPolicy != "" {
		n, err := newNotationVerifier(opts.NotationTrustPolicy, opts.NotationTrustStore)
		if err != nil {
			return nil, err
		}
		v.notation = n
	}
	if opts.PolicyPath == "" {
		return v, nil
	}
	policy, reqs, err := loadPolicy(opts.PolicyPath)
	if err != nil {
		return nil, err
	}
	v.policy, v.reqs = policy, reqs
	for _, sc := range tagScopes(policy) {
		v.log.Warn("policy scope names a tag; regimport's verdicts are for pulls by digest, which do not consult it",
			"scope", sc, "policy", opts.PolicyPath)
	}
	return v, nil
}

// Verification stages: how far a signature got; the furthest explains a rejection best.
const (
	stageNone      = iota
	stageParse     // corrupt, too large, unsupported
	stageKey       // no trusted key made it
	stageSignature // a trusted key, but the signature or key is bad
	stageDigest    // verified, for another manifest
	stagePolicy    // verified and for this manifest; identity or certificate rejected
	stageAccepted
)

// check is the outcome of one signature against the policy (or one requirement).
type check struct {
	stage    int
	trusted  corev1.ConditionStatus
	forImage corev1.ConditionStatus
	reason   string
	message  string
	claims   *claims      // set once our own checks passed (crypto and digest)
	by       *requirement // the requirement that accepted it, when accepted
	// timestampPresent: the verifier found an RFC 3161 timestamp in the
	// bytes it parsed anyway (notation), for the evidence.
	timestampPresent bool
}

// claims are what a verified signature says; only recorded when Trusted.
type claims struct {
	sigType   string
	digest    digest.Digest
	identity  string
	creator   *string
	timestamp *int64
	created   time.Time
	issuedTo  imagev1.SignatureSubject
	issuedBy  *imagev1.SignatureIssuer
	signer    crypto.PublicKey // sigstore: the key that verified (to re-check identity alone)
	expired   bool             // sigstore: that certificate is outside its validity at Now
	// evidence is the signer, time and certificate the checks established;
	// presence of log entries and timestamps is read from the bytes later.
	evidence Evidence
}

func unknown(reason, message string) check {
	return check{trusted: corev1.ConditionUnknown, forImage: corev1.ConditionUnknown, reason: reason, message: message}
}

func failed(stage int, reason, format string, args ...any) check {
	return check{stage: stage, trusted: corev1.ConditionFalse, forImage: corev1.ConditionUnknown, reason: reason, message: fmt.Sprintf(format, args...)}
}

// Verify evaluates the policy for img and checks each signature. The error is only
// for the call itself (cancelled ctx, a manifest that does not match its digest, a
// temporary directory that cannot be used); a bad signature is a result.
func (v *Verifier) Verify(ctx context.Context, img Image, sigs []Signature) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if img.Reference == nil {
		return Result{}, errors.New("verifying signatures: image reference is nil")
	}
	if err := img.ManifestDigest.Validate(); err != nil {
		return Result{}, fmt.Errorf("verifying signatures of %s: manifest digest %q: %w", img.Reference, img.ManifestDigest, err)
	}
	if ok, err := manifest.MatchesDigest(img.Manifest, img.ManifestDigest); err != nil {
		return Result{}, fmt.Errorf("verifying signatures of %s: digest of the manifest: %w", img.Reference, err)
	} else if !ok {
		return Result{}, fmt.Errorf("verifying signatures of %s: the manifest does not match digest %s", img.Reference, img.ManifestDigest)
	}
	now := v.now()
	imageName := img.ImageName
	if imageName == "" {
		imageName = img.ManifestDigest.String()
	}

	checks := make([]check, len(sigs))
	var evaluable, notationSigs []int
	for i, s := range sigs {
		typ := normalizeType(s.Type)
		switch {
		case isReferrerProblem(s): // says why the referrer could not be used, even beyond the cap
			checks[i], _ = referrerProblem(s)
		case i >= MaxSignatures:
			checks[i] = unknown(ReasonTooManySignatures, fmt.Sprintf("not evaluated: beyond the first %d signatures of the image", MaxSignatures))
		case typ == TypeNotation && v.notation == nil:
			checks[i] = unknown(ReasonNoPolicy, "not evaluated: no notation trust policy is configured")
		case typ != TypeNotation && v.policy == nil:
			checks[i] = unknown(ReasonNoPolicy, "not evaluated: no signature policy is configured")
		case len(s.Content) > MaxSignatureSize:
			checks[i] = failed(stageParse, ReasonTooLarge, "%d bytes, above the cap of %d", len(s.Content), MaxSignatureSize)
		case typ == TypeNotation:
			notationSigs = append(notationSigs, i)
		case typ != TypeAtomic && typ != TypeSigstore && typ != TypeSigstoreBundle:
			checks[i] = failed(stageParse, ReasonUnsupportedType, "signature type %q is not supported", s.Type)
		default:
			evaluable = append(evaluable, i)
		}
	}
	notationVerdict := v.verifyNotation(ctx, img, sigs, notationSigs, checks)
	if v.policy == nil {
		res := Result{Verdict: VerdictNoPolicy, Reason: "no signature policy is configured"}
		if notationVerdict != nil {
			res.Verdict, res.Reason = notationVerdict.verdict, notationVerdict.reason
		}
		res.Signatures, res.Evidence = v.records(imageName, sigs, checks, now)
		return res, nil
	}

	ref, err := policyReference(img.Reference, img.ManifestDigest)
	if err != nil {
		return Result{}, fmt.Errorf("verifying signatures of %s: %w", img.Reference, err)
	}
	ev := &evaluation{ref: ref, img: img, tempRoot: v.tempDir}
	defer func() {
		v.policyContexts.Add(int64(ev.contexts))
		if err := ev.close(); err != nil {
			v.log.Warn("cleaning up after signature evaluation", "image", imageName, "err", err)
		}
	}()

	input := make([]Signature, 0, len(evaluable))
	for _, i := range evaluable {
		if normalizeType(sigs[i].Type) != TypeSigstoreBundle { // containers/image does not read bundles
			input = append(input, sigs[i])
		}
	}
	inScope := scope(v.policy, ref)
	reqs := v.prepared(inScope)
	bundleAccepted := map[*requirement]bool{}
	simpleAccepted := map[*requirement]bool{}
	for _, i := range evaluable {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		c, err := v.judge(ctx, ev, reqs, sigs[i])
		if err != nil {
			return Result{}, fmt.Errorf("verifying signature %d of %s: %w", i+1, img.Reference, err)
		}
		checks[i] = c
		if c.stage == stageAccepted && normalizeType(sigs[i].Type) == TypeSigstoreBundle {
			bundleAccepted[c.by] = true
		}
		if c.stage == stageAccepted && normalizeType(sigs[i].Type) == TypeAtomic {
			simpleAccepted[c.by] = true
		}
		v.log.Debug("signature checked", "image", imageName, "reference", ref.DockerReference().String(),
			"index", i, "source", sigs[i].Source, "type", sigs[i].Type, "trusted", c.trusted, "reason", c.reason, "message", c.message)
	}
	// The whole policy, on all signatures: the fast path when it can prove
	// containers/image's acceptance (fastpath.go), else containers/image.
	allowed, reason := v.fastAllowed(inScope, input, simpleAccepted), ""
	if !allowed {
		if allowed, reason, err = ev.allowed(ctx, v.policy, input); err != nil {
			return Result{}, fmt.Errorf("evaluating signature policy for %s: %w", img.Reference, err)
		}
	}
	res := Result{Verdict: VerdictAccepted}
	if !allowed {
		res = Result{Verdict: VerdictRejected, Reason: reason}
	}
	if !allowed && len(bundleAccepted) > 0 {
		if allowed, reason, err = v.allowedWithBundles(ctx, ev, reqs, input, bundleAccepted); err != nil {
			return Result{}, fmt.Errorf("evaluating signature policy for %s: %w", img.Reference, err)
		}
		res = Result{Verdict: VerdictAccepted}
		if !allowed {
			res = Result{Verdict: VerdictRejected, Reason: reason}
		}
	}
	if notationVerdict != nil && notationVerdict.verdict == VerdictRejected && res.Verdict == VerdictAccepted {
		res = Result{Verdict: VerdictRejected, Reason: notationVerdict.reason}
	}
	res.Signatures, res.Evidence = v.records(imageName, sigs, checks, now)
	v.log.Debug("image signatures evaluated", "image", imageName, "verdict", res.Verdict, "reason", res.Reason, "signatures", len(sigs))
	return res, nil
}

// judge checks one signature against the requirements in scope: accepted by any
// requirement that verifies its type, else the rejection that got furthest.
func (v *Verifier) judge(ctx context.Context, ev *evaluation, reqs []*requirement, s Signature) (check, error) {
	typ := normalizeType(s.Type)
	var applicable []*requirement
	for _, r := range reqs {
		switch {
		case r.kind == kindReject:
			return failed(stageParse, ReasonRejectedByPolicy, "the policy for %s rejects every image and signature", ev.ref.PolicyConfigurationIdentity()), nil
		case typ == TypeAtomic && r.kind == kindSignedBy, (typ == TypeSigstore || typ == TypeSigstoreBundle) && r.kind == kindSigstore:
			applicable = append(applicable, r)
		}
	}
	if len(applicable) == 0 {
		want := "signedBy"
		if typ == TypeSigstore || typ == TypeSigstoreBundle {
			want = "sigstoreSigned"
		}
		return failed(stageParse, ReasonNoPolicyRequirement, "the policy for %s has no %s requirement to verify a %s signature with",
			ev.ref.PolicyConfigurationIdentity(), want, typ), nil
	}
	var best check
	for _, r := range applicable {
		c, err := v.checkAgainst(ctx, ev, r, s)
		if err != nil {
			return check{}, err
		}
		if c.stage == stageAccepted {
			c.by = r
			return c, nil
		}
		if c.stage > best.stage {
			best = c
		}
	}
	return best, nil
}

// checkAgainst verifies s with the keys of r ourselves (for the reason and the
// claims), then lets containers/image decide with r alone (identity rules,
// certificates, Rekor), so that a signature is never trusted on our word only.
func (v *Verifier) checkAgainst(ctx context.Context, ev *evaluation, r *requirement, s Signature) (check, error) {
	if r.unsupported != "" {
		return failed(stageParse, ReasonUnsupportedRequirement, "%s: %s", r.desc, r.unsupported), nil
	}
	var c check
	if normalizeType(s.Type) == TypeSigstoreBundle {
		return v.verifyBundle(r, s, ev.img.ManifestDigest, v.now()), nil
	}
	if r.kind == kindSignedBy {
		c = verifySimple(r, s, ev.img.Manifest)
	} else {
		// containers/image checks a PKI certificate's validity against the
		// real clock, not Options.Now (which only stamps the conditions):
		// telling an expired certificate from another rejection must use
		// the same clock, or a certificate issued after Now would be called
		// expired when it names the wrong signer.
		c = verifySigstore(r, s, ev.img.Manifest, time.Now())
	}
	if c.claims == nil {
		return c, nil
	}
	ok, msg := fastAccepts(r, ev, c.claims), ""
	if !ok {
		var err error
		if ok, msg, err = ev.allowed(ctx, &signature.Policy{Default: signature.PolicyRequirements{r.lib}}, []Signature{s}); err != nil {
			return check{}, err
		}
	}
	if ok {
		if r.rekor { // accepted, so the SET is for this signature: date it by the log
			c.claims.evidence.TLogVerified = true
			if t, err := rekorSETTime(r.rekorKeys, s.Bundle); err == nil {
				c.claims.created = t
				c.claims.evidence.setTime(t, TimeSourceTransparencyLog, true)
			}
		}
		c.stage, c.trusted, c.forImage, c.reason = stageAccepted, corev1.ConditionTrue, corev1.ConditionTrue, ReasonVerified
		c.message = fmt.Sprintf("verified by %s (key %s): %s signed for %s", r.desc, c.claims.issuedTo.PublicKeyID, c.claims.identity, c.claims.digest)
		return c, nil
	}
	return v.explain(ctx, ev, r, s, c, msg)
}

// explain turns a rejection by containers/image, after our own checks passed, into a
// reason. Without certificates or Rekor only the identity rule is left; otherwise the
// identity rule is evaluated alone, with the key that verified, to tell them apart.
func (v *Verifier) explain(ctx context.Context, ev *evaluation, r *requirement, s Signature, c check, msg string) (check, error) {
	identity := failed(stagePolicy, ReasonIdentityNotAccepted, "%s: %s", r.desc, msg)
	identity.forImage = corev1.ConditionFalse
	if r.kind == kindSignedBy || (r.certMode == certNone && !r.rekor) {
		return identity, nil
	}
	keyOnly, err := keyOnlyRequirement(c.claims.signer, r.identity)
	if err != nil {
		return failed(stagePolicy, ReasonPolicyEvaluationFailed, "%s: %s", r.desc, msg), nil
	}
	ok, identityMsg, err := ev.allowed(ctx, &signature.Policy{Default: signature.PolicyRequirements{keyOnly}}, []Signature{s})
	if err != nil {
		return check{}, err
	}
	if !ok {
		identity.message = fmt.Sprintf("%s: %s", r.desc, identityMsg)
		return identity, nil
	}
	_, setErr := rekorSETTime(r.rekorKeys, s.Bundle)
	switch {
	case r.certMode == certPKI && c.claims.expired:
		return failed(stagePolicy, ReasonCertificateExpired, "%s: %s", r.desc, msg), nil
	case r.rekor && setErr != nil:
		return failed(stagePolicy, ReasonRekorNotVerified, "%s: %v: %s", r.desc, setErr, msg), nil
	case r.certMode != certNone:
		return failed(stagePolicy, ReasonCertificateNotTrusted, "%s: %s", r.desc, msg), nil
	default: // the SET is the log's, but not for this signature
		return failed(stagePolicy, ReasonRekorNotVerified, "%s: %s", r.desc, msg), nil
	}
}

// keyOnlyRequirement is a sigstoreSigned requirement for one public key with the
// signedIdentity rule of another, built through the policy parser so that the rule
// is containers/image's own.
func keyOnlyRequirement(pub crypto.PublicKey, identity json.RawMessage) (signature.PolicyRequirement, error) {
	pem, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, err
	}
	req := map[string]any{"type": "sigstoreSigned", "keyData": pem}
	if len(identity) > 0 {
		req["signedIdentity"] = identity
	}
	doc, err := json.Marshal(map[string]any{"default": []any{req}})
	if err != nil {
		return nil, err
	}
	p, err := signature.NewPolicyFromBytes(doc)
	if err != nil {
		return nil, err
	}
	return p.Default[0], nil
}

// records builds one ImageSignature and one Evidence per input.
func (v *Verifier) records(imageName string, sigs []Signature, checks []check, now time.Time) ([]imagev1.ImageSignature, []Evidence) {
	out := make([]imagev1.ImageSignature, len(sigs))
	evidence := make([]Evidence, len(sigs))
	t := metav1.NewTime(now)
	for i, s := range sigs {
		c := checks[i]
		name := s.Name
		if name == "" {
			name = SignatureName(s)
		}
		rec := imagev1.ImageSignature{
			ObjectMeta: metav1.ObjectMeta{Name: imageName + "@" + name},
			Type:       normalizeType(s.Type),
			Content:    s.Content,
		}
		if rec.Type == TypeSigstore {
			if env, err := sigstoreEnvelope(s); err == nil {
				rec.Content = env
			}
		}
		forImageMessage := c.message
		if c.trusted == corev1.ConditionTrue {
			forImageMessage = fmt.Sprintf("signed digest %s is this manifest's; signed identity %s is accepted", c.claims.digest, c.claims.identity)
		}
		rec.Conditions = []imagev1.SignatureCondition{
			{Type: ConditionTrusted, Status: c.trusted, LastProbeTime: t, LastTransitionTime: t, Reason: c.reason, Message: c.message},
			{Type: ConditionForImage, Status: c.forImage, LastProbeTime: t, LastTransitionTime: t, Reason: c.reason, Message: forImageMessage},
		}
		carried := carriedEvidence(s)
		carried.TimestampPresent = carried.TimestampPresent || c.timestampPresent
		evidence[i] = untrustedEvidence(carried)
		if c.trusted == corev1.ConditionTrue && c.claims != nil {
			fillClaims(&rec, c.claims)
			evidence[i] = trustedEvidence(c.claims.evidence, carried)
		}
		out[i] = rec
	}
	return out, evidence
}

func fillClaims(rec *imagev1.ImageSignature, cl *claims) {
	rec.ImageIdentity = cl.identity
	rec.SignedClaims = map[string]string{
		ClaimType:     cl.sigType,
		ClaimDigest:   cl.digest.String(),
		ClaimIdentity: cl.identity,
	}
	if cl.creator != nil {
		rec.SignedClaims[ClaimCreator] = *cl.creator
	}
	if cl.timestamp != nil {
		rec.SignedClaims[ClaimTimestamp] = strconv.FormatInt(*cl.timestamp, 10)
	}
	if !cl.created.IsZero() {
		created := metav1.NewTime(cl.created)
		rec.Created = &created
	}
	issuedTo := cl.issuedTo
	rec.IssuedTo = &issuedTo
	if cl.issuedBy != nil {
		issuedBy := *cl.issuedBy
		rec.IssuedBy = &issuedBy
	}
}
