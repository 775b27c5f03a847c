package signatures

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// cosignPolicy trusts cosign.pub for registry.example.com/ns with rule IDENTITY.
const cosignPolicy = `{"default":[{"type":"reject"}],"transports":{"docker":{
  "registry.example.com/ns":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"IDENTITY"}}]}}}`

func newCosignFixture(t *testing.T, identityRule string) (*Verifier, cosignKey, cosignKey) {
	t.Helper()
	dir := t.TempDir()
	trusted, stranger := newCosignKey(t), newCosignKey(t)
	writeFile(t, dir, "cosign.pub", trusted.pem)
	return newTestVerifier(t, writePolicy(t, dir, strings.ReplaceAll(cosignPolicy, "IDENTITY", identityRule))), trusted, stranger
}

func TestVerifyCosignKeyValid(t *testing.T) {
	v, key, _ := newCosignFixture(t, "matchRepository")
	m, d := testManifest("cosign-valid")
	// The cosign CLI signs the repository without the tag.
	sig := signCosign(t, key, "registry.example.com/ns/app", d)
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, sig)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	rec := res.Signatures[0]
	assertTrusted(t, rec, "registry.example.com/ns/app", d, key.fp)
	if rec.Type != TypeSigstore || rec.Name != d.String()+"@"+sig.Name || rec.SignedClaims[ClaimType] != "cosign container image signature" {
		t.Errorf("type %q name %q claims %v", rec.Type, rec.Name, rec.SignedClaims)
	}
	// The stored content is the whole signature, verifiable again.
	var env storedSigstore
	if err := json.Unmarshal(rec.Content, &env); err != nil {
		t.Fatal(err)
	}
	if string(env.Payload) != string(sig.Content) || env.Annotations[SigstoreSignatureAnnotation] != sig.SigstoreSignature || env.MIMEType != SigstoreSignatureMIMEType {
		t.Errorf("stored content %s", rec.Content)
	}
	if rec.IssuedBy != nil || rec.IssuedTo.CommonName != "" {
		t.Errorf("a bare key names nobody: issuedBy %+v issuedTo %+v", rec.IssuedBy, rec.IssuedTo)
	}
	// The directory the signature went through is gone.
	if left, err := os.ReadDir(v.tempDir); err != nil || len(left) != 0 {
		t.Errorf("left behind in %s: %v %v", v.tempDir, left, err)
	}
}

func TestVerifyCosignTaglessIdentityNeedsMatchRepository(t *testing.T) {
	v, key, _ := newCosignFixture(t, "matchRepoDigestOrExact")
	m, d := testManifest("cosign-tagless")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signCosign(t, key, "registry.example.com/ns/app", d))
	if res.Verdict != VerdictRejected || !strings.Contains(res.Reason, "not accepted") {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonIdentityNotAccepted, corev1.ConditionFalse)

	// The same signature with the tag signed is fine under the default rule.
	res = verify(t, v, "registry.example.com/ns/app:v1", m, d, signCosign(t, key, "registry.example.com/ns/app:v1", d))
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, key.fp)
}

func TestVerifyCosignRejections(t *testing.T) {
	v, key, stranger := newCosignFixture(t, "matchRepository")
	m, d := testManifest("cosign-rejections")
	_, other := testManifest("cosign-other")
	good := signCosign(t, key, "registry.example.com/ns/app", d)

	tampered := good
	tampered.Content = []byte(strings.Replace(string(good.Content), "ns/app", "ns/apq", 1))
	noAnnotation := good
	noAnnotation.SigstoreSignature = ""
	badBase64 := good
	badBase64.SigstoreSignature = "***"
	notJSON := Signature{Type: TypeSigstore, Content: []byte("nope"), SigstoreSignature: signCosignPayload(t, key.priv, []byte("nope"))}
	simpleType := Signature{Type: TypeSigstore, Content: payload(simpleSigningSignatureType, "registry.example.com/ns/app", d)}
	simpleType.SigstoreSignature = signCosignPayload(t, key.priv, simpleType.Content)

	cases := []struct {
		name     string
		sig      Signature
		reason   string
		forImage corev1.ConditionStatus
	}{
		{"wrong-key", signCosign(t, stranger, "registry.example.com/ns/app", d), ReasonUnknownKey, corev1.ConditionUnknown},
		{"tampered-payload", tampered, ReasonUnknownKey, corev1.ConditionUnknown},
		{"digest-mismatch", signCosign(t, key, "registry.example.com/ns/app", other), ReasonDigestMismatch, corev1.ConditionFalse},
		{"wrong-identity", signCosign(t, key, "registry.example.com/elsewhere/app", d), ReasonIdentityNotAccepted, corev1.ConditionFalse},
		{"no-signature-annotation", noAnnotation, ReasonCorruptSignature, corev1.ConditionUnknown},
		{"signature-not-base64", badBase64, ReasonCorruptSignature, corev1.ConditionUnknown},
		{"payload-not-json", notJSON, ReasonCorruptSignature, corev1.ConditionUnknown},
		{"payload-of-simple-signing", simpleType, ReasonCorruptSignature, corev1.ConditionUnknown},
	}
	for _, tc := range cases {
		res := verify(t, v, "registry.example.com/ns/app:v1", m, d, tc.sig)
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", tc.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, tc.reason, tc.forImage)
	}
}

func TestVerifySimpleAndCosignTogether(t *testing.T) {
	// Both requirements must be met: one GPG and one cosign signature.
	dir := t.TempDir()
	gpg := gpgKey(t, "Release Team", "release@example.com")
	writeGPGPublicKey(t, dir, "release.gpg", gpg, true)
	key := newCosignKey(t)
	writeFile(t, dir, "cosign.pub", key.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{"registry.example.com":[
	  {"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/release.gpg","signedIdentity":{"type":"matchRepository"}},
	  {"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}}}`))
	m, d := testManifest("both")
	simple := signSimple(t, gpg, "registry.example.com/ns/app:v1", d)
	cosign := signCosign(t, key, "registry.example.com/ns/app", d)

	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, simple, cosign)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(gpg))
	assertTrusted(t, res.Signatures[1], "registry.example.com/ns/app", d, key.fp)

	// Only the GPG one: the image fails the sigstoreSigned requirement, the GPG
	// signature itself is still trusted.
	res = verify(t, v, "registry.example.com/ns/app:v1", m, d, simple)
	if res.Verdict != VerdictRejected || !strings.Contains(res.Reason, "signature was required") {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(gpg))

	if !v.RequiresSigstoreAttachments(mustRef(t, "registry.example.com/ns/app")) || !v.RequiresSignatures(mustRef(t, "registry.example.com/x:1")) {
		t.Error("the registry.example.com scope requires sigstore signatures")
	}
	if v.RequiresSignatures(mustRef(t, "quay.io/ns/app")) {
		t.Error("the default (reject) verifies no signatures")
	}
}

func TestVerifyCosignWithRekorKeyButNoBundle(t *testing.T) {
	dir := t.TempDir()
	key, rekor := newCosignKey(t), newCosignKey(t)
	writeFile(t, dir, "cosign.pub", key.pem)
	writeFile(t, dir, "rekor.pub", rekor.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub",
	  "rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	m, d := testManifest("rekor")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signCosign(t, key, "registry.example.com/ns/app", d))
	if res.Verdict != VerdictRejected {
		t.Fatalf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRekorNotVerified, corev1.ConditionUnknown)
}
