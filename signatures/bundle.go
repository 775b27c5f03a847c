package signatures

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"go.podman.io/image/v5/signature"
	corev1 "k8s.io/api/core/v1"
)

// Sigstore bundles (cosign v3's default format) are verified here through
// sigstore-go, the reference implementation of the bundle specification:
// message signatures and DSSE envelopes, with public keys or with Fulcio
// certificates against a trusted_root.json, the transparency-log inclusion
// proof or signed entry timestamp, and RFC 3161 timestamps, all offline.
//
// The sigstoreSigned requirements of containers-policy.json are mapped onto
// sigstore-go's verification so that one policy covers both formats:
//   - keyPath/keyPaths/keyData/keyDatas: the bundle must verify with one of
//     these keys (sgverify.WithKey); with rekorPublicKey* it must also carry a
//     log entry that key signed.
//   - fulcio{caPath|caData, oidcIssuer, subjectEmail}: the certificate must
//     chain to the trusted root's Fulcio CAs at the time a log entry or a
//     timestamp proves, one of those CAs must be one the policy names, and
//     the SAN and issuer must be the policy's (sgverify.WithCertificateIdentity).
//   - pki: not mapped (containers/image's own PKI mode is for .sig attachments).
//
// A bundle signs the manifest digest (the in-toto subject, or the message
// digest); it carries no docker-reference, so signedIdentity rules have
// nothing to apply to and are not consulted for bundles.

// Media and predicate types of bundles as cosign v3 writes them.
const (
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// CosignSignPredicate is the in-toto predicate type of a cosign v3 image
	// signature (cosign sign); any other predicate type is an attestation.
	CosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"
	// MessageSignatureType is the claim type of a bundle holding a message signature.
	MessageSignatureType = "sigstore message signature"
	inTotoPayloadType    = "application/vnd.in-toto+json"
)

// ReasonNoTrustedRoot: a certificate-signed bundle, but no trusted_root.json is configured.
const ReasonNoTrustedRoot = "NoTrustedRoot"

// BundleKind tells, from the untrusted content, what a bundle holds: its
// in-toto predicate type for a DSSE envelope (CosignSignPredicate for a
// signature, another type for an attestation), or MessageSignatureType.
func BundleKind(untrusted []byte) (string, error) {
	var b bundle.Bundle
	if err := b.UnmarshalJSON(untrusted); err != nil {
		return "", fmt.Errorf("not a sigstore bundle: %w", err)
	}
	env, err := b.Envelope()
	if err != nil || env == nil {
		return MessageSignatureType, nil
	}
	var st struct {
		PredicateType string `json:"predicateType"`
	}
	if env.PayloadType != inTotoPayloadType {
		return "", fmt.Errorf("DSSE payload type %q is not in-toto", env.PayloadType)
	}
	payload, err := env.RawEnvelope().DecodeB64Payload()
	if err != nil {
		return "", fmt.Errorf("DSSE payload: %w", err)
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return "", fmt.Errorf("DSSE payload is not an in-toto statement: %w", err)
	}
	return st.PredicateType, nil
}

// loadTrustedRoot reads trusted_root.json as sigstore distributes it.
func loadTrustedRoot(path string) (*root.TrustedRoot, error) {
	tr, err := root.NewTrustedRootFromPath(path)
	if err != nil {
		return nil, fmt.Errorf("loading sigstore trusted root %s: %w", path, err)
	}
	return tr, nil
}

// verifyBundle checks one bundle against one sigstoreSigned requirement.
// Like verifySigstore, a result with claims is accepted; otherwise it says
// how far the bundle got.
func (v *Verifier) verifyBundle(r *requirement, s Signature, manifestDigest digest.Digest, now time.Time) check {
	if r.certMode == certPKI {
		return failed(stageParse, ReasonUnsupportedRequirement, "%s: the pki mode is not applied to sigstore bundles", r.desc)
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(s.Content); err != nil {
		return failed(stageParse, ReasonCorruptSignature, "not a sigstore bundle: %v", err)
	}
	vc, err := b.VerificationContent()
	if err != nil {
		return failed(stageParse, ReasonCorruptSignature, "bundle verification material: %v", err)
	}
	want, err := hex.DecodeString(manifestDigest.Encoded())
	if err != nil || manifestDigest.Algorithm() != digest.SHA256 {
		return failed(stageParse, ReasonCorruptSignature, "manifest digest %s is not sha256", manifestDigest)
	}
	forManifest := sgverify.WithArtifactDigest("sha256", want)
	if r.certMode == certFulcio {
		return v.verifyKeylessBundle(r, &b, vc, manifestDigest, forManifest, now)
	}
	if vc.Certificate() != nil {
		return failed(stageKey, ReasonUnknownKey, "%s: the bundle is signed with a certificate, the requirement trusts public keys", r.desc)
	}
	for i := range r.keys {
		k := &r.keys[i]
		material := root.TrustedMaterial(root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
		}))
		opts := []sgverify.VerifierOption{sgverify.WithNoObserverTimestamps()}
		if r.rekor {
			logs, err := rekorMaterial(r)
			if err != nil {
				return failed(stageParse, ReasonUnsupportedRequirement, "%s: %v", r.desc, err)
			}
			material = root.TrustedMaterialCollection{material, logs}
			opts = []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithIntegratedTimestamps(1)}
		}
		sv, err := sgverify.NewVerifier(material, opts...)
		if err != nil {
			return failed(stageParse, ReasonPolicyEvaluationFailed, "%s: %v", r.desc, err)
		}
		res, err := sv.Verify(&b, sgverify.NewPolicy(forManifest, sgverify.WithKey()))
		if err == nil {
			if !r.rekor {
				res = v.observedWithTrustedRoot(&b, material, forManifest, res)
			}
			return bundleAccepted(&b, res, manifestDigest, imagev1.SignatureSubject{PublicKeyID: k.fingerprint}, nil, k, nil)
		}
		if own, ok := bundleOwnArtifact(&b); ok {
			if _, errOwn := sv.Verify(&b, sgverify.NewPolicy(own, sgverify.WithKey())); errOwn == nil {
				c := failed(stageDigest, ReasonDigestMismatch, "signed by key %s for another manifest than %s", k.fingerprint, manifestDigest)
				c.forImage = corev1.ConditionFalse
				return c
			}
		}
		if r.rekor && strings.Contains(err.Error(), "log") {
			if _, errNoLog := verifyWithKeyOnly(&b, k, forManifest); errNoLog == nil {
				return failed(stageSignature, ReasonRekorNotVerified, "%s: signed by key %s, but %v", r.desc, k.fingerprint, err)
			}
		}
	}
	return failed(stageKey, ReasonUnknownKey, "not signed by any of the %d keys of %s (or the content was altered)", len(r.keys), r.desc)
}

// observedWithTrustedRoot dates a bundle the policy accepted on its key
// alone: `cosign sign --key` logs to the public Rekor and may add an RFC 3161
// timestamp, which the trusted root's logs and timestamp authorities can
// check. This is evidence only: the verdict stays the policy's, and when the
// log entries or timestamps do not verify, res is returned as it was.
func (v *Verifier) observedWithTrustedRoot(b *bundle.Bundle, key root.TrustedMaterial, artifact sgverify.ArtifactPolicyOption, res *sgverify.VerificationResult) *sgverify.VerificationResult {
	if v.trustedRoot == nil {
		return res
	}
	tlogs, _ := b.TlogEntries()
	stamps, _ := b.Timestamps()
	if len(tlogs) == 0 && len(stamps) == 0 {
		return res
	}
	opts := []sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}
	if len(tlogs) > 0 {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	sv, err := sgverify.NewVerifier(root.TrustedMaterialCollection{key, v.trustedRoot}, opts...)
	if err != nil {
		return res
	}
	observed, err := sv.Verify(b, sgverify.NewPolicy(artifact, sgverify.WithKey()))
	if err != nil {
		return res
	}
	return observed
}

func verifyWithKeyOnly(b *bundle.Bundle, k *sigstoreKey, artifact sgverify.ArtifactPolicyOption) (*sgverify.VerificationResult, error) {
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(k.verifier, time.Time{}, time.Time{}), nil
	})
	sv, err := sgverify.NewVerifier(material, sgverify.WithNoObserverTimestamps())
	if err != nil {
		return nil, err
	}
	return sv.Verify(b, sgverify.NewPolicy(artifact, sgverify.WithKey()))
}

// verifyKeylessBundle checks a Fulcio-certified bundle against the trusted
// root, the policy's CA and identity, with an observer timestamp (a log entry
// or an RFC 3161 timestamp) proving the certificate was valid at signing.
func (v *Verifier) verifyKeylessBundle(r *requirement, b *bundle.Bundle, vc sgverify.VerificationContent, manifestDigest digest.Digest, forManifest sgverify.ArtifactPolicyOption, now time.Time) check {
	if v.trustedRoot == nil {
		return failed(stageParse, ReasonNoTrustedRoot, "%s: a certificate-signed bundle needs a sigstore trusted root (--sigstore-trusted-root)", r.desc)
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return failed(stageKey, ReasonCertificateNotTrusted, "%s: the bundle has no certificate (signed with a key)", r.desc)
	}
	identity, err := sgverify.NewShortCertificateIdentity(r.oidcIssuer, "", r.subjectEmail, "")
	if r.oidcIssuer == "" || r.subjectEmail == "" {
		identity, err = sgverify.NewShortCertificateIdentity(r.oidcIssuer, ".*", r.subjectEmail, ".*")
	}
	if err != nil {
		return failed(stageParse, ReasonUnsupportedRequirement, "%s: %v", r.desc, err)
	}
	opts := []sgverify.VerifierOption{sgverify.WithObserverTimestamps(1)}
	if r.rekor {
		opts = append(opts, sgverify.WithTransparencyLog(1))
	}
	sv, err := sgverify.NewVerifier(v.trustedRoot, opts...)
	if err != nil {
		return failed(stageParse, ReasonPolicyEvaluationFailed, "%s: %v", r.desc, err)
	}
	subject := imagev1.SignatureSubject{}
	subject.CommonName = certificateSubject(leaf)
	if len(leaf.Subject.Organization) > 0 {
		subject.Organization = leaf.Subject.Organization[0]
	}
	if fp, err := newSigstoreKey(leaf.PublicKey); err == nil {
		subject.PublicKeyID = fp.fingerprint
	}
	issuer := &imagev1.SignatureIssuer{}
	issuer.CommonName = leaf.Issuer.CommonName
	if len(leaf.Issuer.Organization) > 0 {
		issuer.Organization = leaf.Issuer.Organization[0]
	}
	policy := sgverify.NewPolicy(forManifest, sgverify.WithCertificateIdentity(identity))
	res, err := sv.Verify(b, policy)
	if err == nil {
		if !chainsToAny(leaf, vc, v.trustedRoot, r.fulcioCAs) {
			return failed(stagePolicy, ReasonCertificateNotTrusted, "%s: the certificate chains to the trusted root, but not to the Fulcio CA the policy names", r.desc)
		}
		return bundleAccepted(b, res, manifestDigest, subject, issuer, nil, leaf)
	}
	// Tell the reasons apart, most basic first.
	if !chainsToAny(leaf, vc, v.trustedRoot, nil) {
		return failed(stageKey, ReasonCertificateNotTrusted, "%s: the certificate (issued by %q) chains to no CA of the trusted root", r.desc, leaf.Issuer.CommonName)
	}
	tlogs, _ := b.TlogEntries()
	stamps, _ := b.Timestamps()
	if len(tlogs) == 0 && len(stamps) == 0 && (now.After(leaf.NotAfter) || now.Before(leaf.NotBefore)) {
		return failed(stagePolicy, ReasonCertificateExpired, "%s: the certificate was valid %s to %s and the bundle has no log entry or timestamp proving it was signed then",
			r.desc, leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	if own, ok := bundleOwnArtifact(b); ok {
		if _, errOwn := sv.Verify(b, sgverify.NewPolicy(own, sgverify.WithCertificateIdentity(identity))); errOwn == nil {
			c := failed(stageDigest, ReasonDigestMismatch, "signed by %s for another manifest", subject.CommonName)
			c.forImage = corev1.ConditionFalse
			return c
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "certificate identity") || strings.Contains(msg, "no matching"):
		return failed(stagePolicy, ReasonCertificateNotTrusted, "%s: signer %s is not the identity the policy expects (%s from %s): %v", r.desc, subject.CommonName, r.subjectEmail, r.oidcIssuer, err)
	case strings.Contains(msg, "log") || strings.Contains(msg, "timestamp"):
		return failed(stagePolicy, ReasonRekorNotVerified, "%s: %v", r.desc, err)
	}
	return failed(stageSignature, ReasonInvalidSignature, "%s: %v", r.desc, err)
}

// chainsToAny reports whether leaf chains, at its own issuance time, to one of
// the trusted root's Fulcio CAs and, when anchors is non-empty, through one of
// those certificates.
func chainsToAny(leaf *x509.Certificate, vc sgverify.VerificationContent, tr *root.TrustedRoot, anchors []*x509.Certificate) bool {
	for _, ca := range tr.FulcioCertificateAuthorities() {
		fca, ok := ca.(*root.FulcioCertificateAuthority)
		if !ok || fca.Root == nil {
			continue
		}
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(fca.Root)
		for _, c := range fca.Intermediates {
			inter.AddCert(c)
		}
		for _, c := range vc.Intermediates() {
			inter.AddCert(c)
		}
		chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: leaf.NotBefore.Add(time.Second),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			continue
		}
		if len(anchors) == 0 {
			return true
		}
		for _, chain := range chains {
			for _, c := range chain[1:] {
				for _, a := range anchors {
					if bytes.Equal(c.Raw, a.Raw) {
						return true
					}
				}
			}
		}
	}
	return false
}

// bundleOwnArtifact is the artifact the bundle claims to sign: to tell a
// bundle for another manifest from a forged one.
func bundleOwnArtifact(b *bundle.Bundle) (sgverify.ArtifactPolicyOption, bool) {
	if env, err := b.Envelope(); err == nil && env != nil {
		return sgverify.WithoutArtifactUnsafe(), true
	}
	ms := b.GetMessageSignature()
	if ms == nil || ms.GetMessageDigest() == nil {
		return nil, false
	}
	return sgverify.WithArtifactDigest("sha256", ms.GetMessageDigest().GetDigest()), true
}

// bundleAccepted builds the claims of a verified bundle, signed with key or
// with the certificate leaf.
func bundleAccepted(b *bundle.Bundle, res *sgverify.VerificationResult, d digest.Digest, subject imagev1.SignatureSubject, issuer *imagev1.SignatureIssuer, key *sigstoreKey, leaf *x509.Certificate) check {
	cl := &claims{sigType: MessageSignatureType, digest: d, issuedTo: subject, issuedBy: issuer}
	cl.evidence.KeyFingerprint = subject.PublicKeyID
	if key != nil {
		cl.signer = key.public
	}
	if leaf != nil {
		cl.evidence.setCertificate(leaf)
	}
	// sigstore-go returns only the times it verified: log entries it checked
	// (inclusion promise or proof, for this signature) and timestamps a
	// timestamp authority of the trusted material signed.
	for _, ts := range res.VerifiedTimestamps {
		switch ts.Type {
		case "Tlog":
			cl.evidence.TLogVerified = true
			cl.evidence.setTime(ts.Timestamp, TimeSourceTransparencyLog, true)
		case "TimestampAuthority":
			cl.evidence.TimestampVerified = true
			cl.evidence.setTime(ts.Timestamp, TimeSourceRFC3161, true)
		}
	}
	if res.Statement != nil {
		cl.sigType = res.Statement.GetPredicateType()
		if subj := res.Statement.GetSubject(); len(subj) > 0 {
			cl.identity = subj[0].GetName()
		}
	}
	for _, ts := range res.VerifiedTimestamps {
		if cl.created.IsZero() || ts.Timestamp.Before(cl.created) {
			cl.created = ts.Timestamp.UTC()
		}
	}
	if cl.created.IsZero() && leaf != nil {
		cl.created = leaf.NotBefore.UTC()
	}
	return check{stage: stageAccepted, trusted: corev1.ConditionTrue, forImage: corev1.ConditionTrue, reason: ReasonVerified, claims: cl,
		message: fmt.Sprintf("sigstore bundle verified (%s), signed by %s", cl.sigType, signerName(subject))}
}

func signerName(s imagev1.SignatureSubject) string {
	if s.CommonName != "" {
		return s.CommonName
	}
	return "key " + s.PublicKeyID
}

// rekorMaterial turns the policy's Rekor public keys into transparency logs
// sigstore-go can check log entries against (the log ID is the SHA-256 of
// the key's DER, as Rekor defines it).
func rekorMaterial(r *requirement) (root.TrustedMaterial, error) {
	logs := map[string]*root.TransparencyLog{}
	for _, k := range r.rekorKeys {
		der, err := cryptoutils.MarshalPublicKeyToDER(k)
		if err != nil {
			return nil, fmt.Errorf("rekor public key: %w", err)
		}
		sum := sha256.Sum256(der)
		id := hex.EncodeToString(sum[:])
		// A policy's Rekor key has no validity period, but sigstore-go
		// refuses every signed entry timestamp of a log whose period has no
		// start: the key is taken as valid since the Unix epoch.
		logs[id] = &root.TransparencyLog{ID: sum[:], HashFunc: crypto.SHA256, PublicKey: k, SignatureHashFunc: crypto.SHA256,
			ValidityPeriodStart: time.Unix(0, 0)}
	}
	if len(logs) == 0 {
		return nil, errors.New("no Rekor public key")
	}
	return root.NewTrustedRoot(root.TrustedRootMediaType01, nil, nil, nil, logs)
}

// allowedWithBundles decides the image when verified bundles may satisfy
// sigstoreSigned requirements. As in containers/image, every requirement in
// scope must pass: a sigstoreSigned one passes when a bundle verified under
// it, any requirement when containers/image accepts the image's other
// signatures under it alone.
func (v *Verifier) allowedWithBundles(ctx context.Context, ev *evaluation, reqs []*requirement, input []Signature, accepted map[*requirement]bool) (bool, string, error) {
	if len(reqs) == 0 {
		return false, "no policy requirement applies to the image", nil
	}
	for _, r := range reqs {
		if r.kind == kindSigstore && accepted[r] {
			continue
		}
		ok, msg, err := ev.allowed(ctx, &signature.Policy{Default: signature.PolicyRequirements{r.lib}}, input)
		if err != nil {
			return false, "", err
		}
		if !ok {
			return false, msg, nil
		}
	}
	return true, "", nil
}
