package signatures

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/refsigtest"
	corev1 "k8s.io/api/core/v1"
)

// notationVerifierWith is a verifier for a trust policy with the given
// verification level and trusted identities, whose trust store holds the
// root CAs of signers.
func notationVerifierWith(t *testing.T, verification map[string]any, identities []string, signers ...*refsigtest.NotationSigner) *Verifier {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "truststore")
	caDir := filepath.Join(store, "x509", "ca", "release")
	if err := os.MkdirAll(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, n := range signers {
		writeFile(t, caDir, "root"+string(rune('a'+i))+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.Root.Raw}))
	}
	policy := writeFile(t, dir, "trustpolicy.json", refsigtest.TrustPolicyFor("release", verification, identities, "registry.example.com/team/app"))
	v, err := NewVerifier(Options{NotationTrustPolicy: policy, NotationTrustStore: store, Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func notationSig(env []byte) Signature {
	return Signature{Source: SourceReferrers, Type: TypeNotation, Content: env}
}

// Notation evidence: the leaf certificate's subject, issuer, validity and key,
// notation's signing time, which the signer sets and nobody attests, and the
// expiry the signer gave the signature.
func TestEvidenceOfNotationSignature(t *testing.T) {
	ctx := context.Background()
	n, err := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	if err != nil {
		t.Fatal(err)
	}
	v := notationVerifierWith(t, map[string]any{"level": "strict"}, []string{"*"}, n)
	m, d := testManifest("notation-evidence")
	before := time.Now().Add(-time.Second)
	env, err := n.SignWithExpiry(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}, refsigtest.NotationCOSE, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, notationSig(env))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s)", res.Verdict, res.Reason)
	}
	e := evidenceOf(t, res, 0)
	if !e.SignatureExpiry.Equal(e.SigningTime.Add(time.Hour)) {
		t.Errorf("expiry %v, want an hour after the signing time %v", e.SignatureExpiry, e.SigningTime)
	}
	key, err := newSigstoreKey(n.Leaf.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if e.KeyFingerprint != key.fingerprint || e.CertificateSubject != "Release Signer" || e.CertificateIssuer != "Release Signer root" || e.OIDCIssuer != "" ||
		!e.CertificateNotBefore.Equal(n.Leaf.NotBefore) || !e.CertificateNotAfter.Equal(n.Leaf.NotAfter) ||
		e.TimeSource != TimeSourceNotationSigningTime || e.TimeVerified || e.SigningTime.Before(before) || e.SigningTime.After(time.Now()) ||
		e.TLogPresent || e.TimestampPresent {
		t.Errorf("evidence %+v", e)
	}
}

// A JWS envelope signed for another manifest, its payload rewritten to name
// this one: notation's integrity check (the envelope signature over the
// payload) fails. Guards notation-go's integrity validation (which no trust
// policy can skip) as notationFailure reports it.
func TestNotationTamperedEnvelope(t *testing.T) {
	ctx := context.Background()
	n, _ := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	v := notationVerifierWith(t, map[string]any{"level": "strict"}, []string{"*"}, n)
	m, d := testManifest("notation-tampered")
	om, od := testManifest("another image")
	env, err := n.Sign(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: od, Size: int64(len(om))}, refsigtest.NotationJWS)
	if err != nil {
		t.Fatal(err)
	}
	var jws map[string]any
	if err := json.Unmarshal(env, &jws); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(jws["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rewritten := strings.ReplaceAll(strings.ReplaceAll(string(payload), od.String(), d.String()), `"size":`+itoa(len(om)), `"size":`+itoa(len(m)))
	if rewritten == string(payload) || !strings.Contains(rewritten, d.String()) {
		t.Fatalf("the payload does not name the manifest: %s", payload)
	}
	jws["payload"] = base64.RawURLEncoding.EncodeToString([]byte(rewritten))
	tampered, _ := json.Marshal(jws)

	res := verify(t, v, "registry.example.com/team/app:v1", m, d, notationSig(tampered))
	if res.Verdict != VerdictRejected {
		t.Errorf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCorruptSignature, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "tampered envelope", evidenceOf(t, res, 0))
	if msg := condition(t, res.Signatures[0], ConditionTrusted).Message; !strings.Contains(msg, "integrity") {
		t.Errorf("message: %s", msg)
	}
	// Untampered, the envelope verifies and is for the other manifest: only
	// the integrity check stands between the rewritten payload and trust.
	res = verify(t, v, "registry.example.com/team/app:v1", m, d, notationSig(env))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonDigestMismatch, corev1.ConditionFalse)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// A notation signature whose certificate expired after it signed (the
// trust policy names no timestamp authority, so nothing proves it was made
// while the certificate was valid): rejected as CertificateExpired under
// strict, trusted once the policy only logs authenticTimestamp failures.
// The second half shows it is the certificate's expiry that rejects it;
// notation-go checks it against the real clock, so the test waits for the
// certificate to expire (about two seconds).
func TestNotationExpiredCertificate(t *testing.T) {
	ctx := context.Background()
	notAfter := time.Now().Truncate(time.Second).Add(2 * time.Second)
	n, err := refsigtest.NewNotationSignerValidUntil("Release Signer", "Example Corp", notAfter)
	if err != nil {
		t.Fatal(err)
	}
	m, d := testManifest("notation-expired")
	env, err := n.Sign(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}, refsigtest.NotationJWS)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(notAfter.Add(1100 * time.Millisecond)))

	strict := notationVerifierWith(t, map[string]any{"level": "strict"}, []string{"*"}, n)
	res := verify(t, strict, "registry.example.com/team/app:v1", m, d, notationSig(env))
	if res.Verdict != VerdictRejected {
		t.Errorf("strict: verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateExpired, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "expired", evidenceOf(t, res, 0))

	lenient := notationVerifierWith(t, map[string]any{"level": "strict", "override": map[string]any{"authenticTimestamp": "log"}}, []string{"*"}, n)
	res = verify(t, lenient, "registry.example.com/team/app:v1", m, d, notationSig(env))
	if c := condition(t, res.Signatures[0], ConditionTrusted); c.Status != corev1.ConditionTrue {
		t.Fatalf("authenticTimestamp logged only: %s %s", c.Reason, c.Message)
	}
	if e := evidenceOf(t, res, 0); !e.CertificateNotAfter.Equal(notAfter) || !e.CertificateNotAfter.Before(time.Now()) {
		t.Errorf("evidence %+v: the certificate validity ends at %v", e, notAfter)
	}
}

// trustedIdentities with a specific subject: a signature by that subject is
// trusted, one by another subject whose CA the trust store also holds is not;
// with "*" the same signature is trusted. Guards notation-go's identity match
// that newNotationVerifier configures from the trust policy.
func TestNotationTrustedIdentities(t *testing.T) {
	ctx := context.Background()
	release, _ := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	intern, _ := refsigtest.NewNotationSigner("Intern", "Example Corp")
	m, d := testManifest("notation-identity")
	desc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}
	byRelease, err := release.Sign(ctx, desc, refsigtest.NotationCOSE)
	if err != nil {
		t.Fatal(err)
	}
	byIntern, err := intern.Sign(ctx, desc, refsigtest.NotationCOSE)
	if err != nil {
		t.Fatal(err)
	}
	strict := map[string]any{"level": "strict"}
	specific := notationVerifierWith(t, strict, []string{refsigtest.NotationSubject("Release Signer", "Example Corp")}, release, intern)
	anyone := notationVerifierWith(t, strict, []string{"*"}, release, intern)

	res := verify(t, specific, "registry.example.com/team/app:v1", m, d, notationSig(byRelease))
	if res.Verdict != VerdictAccepted {
		t.Errorf("the trusted identity: verdict %s (%s); %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	if e := evidenceOf(t, res, 0); e.CertificateSubject != "Release Signer" {
		t.Errorf("the trusted identity: evidence %+v", e)
	}

	res = verify(t, specific, "registry.example.com/team/app:v1", m, d, notationSig(byIntern))
	if res.Verdict != VerdictRejected {
		t.Errorf("another identity: verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateNotTrusted, corev1.ConditionUnknown)
	if msg := condition(t, res.Signatures[0], ConditionTrusted).Message; !strings.Contains(msg, "authenticity") {
		t.Errorf("another identity: message %s", msg)
	}

	if res := verify(t, anyone, "registry.example.com/team/app:v1", m, d, notationSig(byIntern)); res.Verdict != VerdictAccepted {
		t.Errorf("another identity under \"*\": verdict %s (%s)", res.Verdict, res.Reason)
	}
}
