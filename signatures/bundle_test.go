package signatures

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/internal/refsigtest"
	corev1 "k8s.io/api/core/v1"
)

func keyFingerprint(t testing.TB, k *refsigtest.Key) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

func bundleSig(content []byte) Signature {
	return Signature{Source: SourceReferrers, Type: TypeSigstoreBundle, Content: content}
}

// keyPolicy is a sigstoreSigned policy for one key file, as for .sig attachments.
func keyPolicy(t testing.TB, dir string, pem []byte) string {
	t.Helper()
	writeFile(t, dir, "cosign.pub", pem)
	return writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{"registry.example.com/team":[
		{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}}}`)
}

// cosign v3's default: a DSSE bundle over an in-toto statement naming the
// manifest digest, verified with the policy's sigstoreSigned key, makes the
// image accepted with no .sig attachment at all. A message-signature bundle
// over the manifest verifies too.
func TestBundleWithKeyIsAcceptedUnderSigstoreSigned(t *testing.T) {
	dir := t.TempDir()
	key, err := refsigtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, keyPolicy(t, dir, key.PEM))
	m, d := testManifest("bundle")
	const ref = "registry.example.com/team/app:v1"
	dsse, err := key.SignDSSE(refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := key.SignMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string][]byte{"dsse": dsse, "message": msg} {
		res := verify(t, v, ref, m, d, bundleSig(content))
		if res.Verdict != VerdictAccepted {
			t.Fatalf("%s: verdict %s (%s), want accepted", name, res.Verdict, res.Reason)
		}
		rec := res.Signatures[0]
		tr := condition(t, rec, ConditionTrusted)
		if tr.Status != corev1.ConditionTrue || condition(t, rec, ConditionForImage).Status != corev1.ConditionTrue {
			t.Fatalf("%s: Trusted %s/%s: %s", name, tr.Status, tr.Reason, tr.Message)
		}
		if rec.IssuedTo == nil || rec.IssuedTo.PublicKeyID != keyFingerprint(t, key) {
			t.Errorf("%s: issuedTo %+v", name, rec.IssuedTo)
		}
		if rec.SignedClaims[ClaimDigest] != d.String() || rec.Type != TypeSigstoreBundle || string(rec.Content) != string(content) {
			t.Errorf("%s: claims %v, type %s", name, rec.SignedClaims, rec.Type)
		}
		wantType := refsigtest.CosignSignPredicate
		if name == "message" {
			wantType = MessageSignatureType
		}
		if rec.SignedClaims[ClaimType] != wantType {
			t.Errorf("%s: type claim %q, want %q", name, rec.SignedClaims[ClaimType], wantType)
		}
	}
	// Without any signature the same policy rejects: the bundle is what made it pass.
	if res := verify(t, v, ref, m, d); res.Verdict != VerdictRejected {
		t.Fatalf("unsigned image: %s", res.Verdict)
	}
}

func TestBundleRejections(t *testing.T) {
	dir := t.TempDir()
	key, _ := refsigtest.NewKey()
	other, _ := refsigtest.NewKey()
	v := newTestVerifier(t, keyPolicy(t, dir, key.PEM))
	m, d := testManifest("bundle")
	_, otherDigest := testManifest("another image")
	stmt := refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil)
	forOther, _ := key.SignDSSE(refsigtest.Statement("registry.example.com/team/app", otherDigest, refsigtest.CosignSignPredicate, nil))
	byOther, _ := other.SignDSSE(stmt)
	// A statement for this digest, signed by the key, then altered: the
	// predicate type changed after signing.
	good, _ := key.SignDSSE(stmt)
	altered := alterPayload(t, good)
	cases := []struct {
		name     string
		content  []byte
		reason   string
		forImage corev1.ConditionStatus
	}{
		{"for another digest", forOther, ReasonDigestMismatch, corev1.ConditionFalse},
		{"by an unknown key", byOther, ReasonUnknownKey, corev1.ConditionUnknown},
		{"altered after signing", altered, ReasonUnknownKey, corev1.ConditionUnknown},
		{"not a bundle", []byte(`{"mediaType":"nonsense"}`), ReasonCorruptSignature, corev1.ConditionUnknown},
	}
	for _, c := range cases {
		res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(c.content))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", c.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, c.reason, c.forImage)
	}
}

// keylessFixture is a test sigstore with its trusted_root.json and a policy
// whose sigstoreSigned fulcio requirement names its CA, issuer and identity.
func keylessFixture(t *testing.T) (*refsigtest.Sigstore, *Verifier) {
	t.Helper()
	dir := t.TempDir()
	ss, err := refsigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := ss.FulcioCAPEM()
	if err != nil {
		t.Fatal(err)
	}
	rekorPEM, err := ss.RekorPublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	trJSON, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "fulcio.pem", caPEM)
	writeFile(t, dir, "rekor.pub", rekorPEM)
	tr := writeFile(t, dir, "trusted_root.json", trJSON)
	policy := writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{"registry.example.com/team":[
		{"type":"sigstoreSigned","fulcio":{"caPath":"{{DIR}}/fulcio.pem","oidcIssuer":"https://issuer.example.com","subjectEmail":"release@example.com"},
		 "rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}}}`)
	v, err := NewVerifier(Options{PolicyPath: policy, SigstoreTrustedRoot: tr, Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return ss, v
}

// Keyless: a Fulcio certificate for the policy's identity and issuer,
// chained to the trusted root's CA, with a Rekor entry (inclusion proof and
// signed entry timestamp) proving when it signed; all offline.
func TestKeylessBundleAgainstATestTrustedRoot(t *testing.T) {
	ss, v := keylessFixture(t)
	m, d := testManifest("keyless")
	stmt := refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil)
	good, err := ss.SignKeyless("release@example.com", "https://issuer.example.com", stmt)
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(good))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s); signature: %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	rec := res.Signatures[0]
	if rec.IssuedTo == nil || rec.IssuedTo.CommonName != "release@example.com" || rec.IssuedBy == nil || rec.Created == nil {
		t.Errorf("issuedTo %+v issuedBy %+v created %v", rec.IssuedTo, rec.IssuedBy, rec.Created)
	}

	wrongIdentity, _ := ss.SignKeyless("intruder@example.com", "https://issuer.example.com", stmt)
	untrusted, _ := refsigtest.SignWithUntrustedCA("release@example.com", "https://issuer.example.com", stmt)
	expired, _ := ss.SignWithOwnCA("release@example.com", "https://issuer.example.com", time.Now().Add(-2*time.Hour), stmt)
	_, otherDigest := testManifest("another image")
	forOther, _ := ss.SignKeyless("release@example.com", "https://issuer.example.com",
		refsigtest.Statement("registry.example.com/team/app", otherDigest, refsigtest.CosignSignPredicate, nil))
	for _, c := range []struct {
		name     string
		content  []byte
		reason   string
		forImage corev1.ConditionStatus
	}{
		{"another identity", wrongIdentity, ReasonCertificateNotTrusted, corev1.ConditionUnknown},
		{"a certificate chaining to no trusted root", untrusted, ReasonCertificateNotTrusted, corev1.ConditionUnknown},
		{"an expired certificate with no timestamp proof", expired, ReasonCertificateExpired, corev1.ConditionUnknown},
		{"a bundle for another digest", forOther, ReasonDigestMismatch, corev1.ConditionFalse},
	} {
		if c.content == nil {
			t.Fatalf("%s: no fixture", c.name)
		}
		res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(c.content))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", c.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, c.reason, c.forImage)
		t.Logf("%s: %s", c.name, condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}

// Without a trusted root, a certificate-signed bundle cannot be trusted, and says why.
func TestKeylessBundleWithoutTrustedRoot(t *testing.T) {
	ss, _ := keylessFixture(t)
	dir := t.TempDir()
	caPEM, _ := ss.FulcioCAPEM()
	rekorPEM, _ := ss.RekorPublicKeyPEM()
	writeFile(t, dir, "fulcio.pem", caPEM)
	writeFile(t, dir, "rekor.pub", rekorPEM)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"{{DIR}}/fulcio.pem",
		"oidcIssuer":"https://issuer.example.com","subjectEmail":"release@example.com"},"rekorPublicKeyPath":"{{DIR}}/rekor.pub"}]}`))
	m, d := testManifest("keyless")
	b, _ := ss.SignKeyless("release@example.com", "https://issuer.example.com", refsigtest.Statement("r", d, refsigtest.CosignSignPredicate, nil))
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonNoTrustedRoot, corev1.ConditionUnknown)
}

// alterPayload rewrites the DSSE payload of a bundle (keeping its signature).
func alterPayload(t testing.TB, bundle []byte) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	env := b["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	payload = []byte(strings.Replace(string(payload), "cosign/sign/v1", "cosign/sign/v9", 1))
	env["payload"] = base64.StdEncoding.EncodeToString(payload)
	out, _ := json.Marshal(b)
	return out
}

// A certificate that chains to the trusted root but not through the Fulcio
// CA the policy names is not trusted: the policy narrows the trusted root.
func TestKeylessBundleMustChainToThePolicyCA(t *testing.T) {
	ss, _ := keylessFixture(t)
	dir := t.TempDir()
	trJSON, _ := ss.TrustedRootJSON()
	rekorPEM, _ := ss.RekorPublicKeyPEM()
	tr := writeFile(t, dir, "trusted_root.json", trJSON)
	writeFile(t, dir, "rekor.pub", rekorPEM)
	// The policy names a CA of its own, which is not the virtual Fulcio's.
	other := newTestCA(t, "Other", "Other CA")
	writeFile(t, dir, "other.pem", other.pem)
	policy := writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"{{DIR}}/other.pem",
		"oidcIssuer":"https://issuer.example.com","subjectEmail":"release@example.com"},"rekorPublicKeyPath":"{{DIR}}/rekor.pub"}]}`)
	v, err := NewVerifier(Options{PolicyPath: policy, SigstoreTrustedRoot: tr, Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, d := testManifest("keyless")
	b, _ := ss.SignKeyless("release@example.com", "https://issuer.example.com", refsigtest.Statement("r", d, refsigtest.CosignSignPredicate, nil))
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateNotTrusted, corev1.ConditionUnknown)
	if !strings.Contains(condition(t, res.Signatures[0], ConditionTrusted).Message, "policy names") {
		t.Errorf("message: %s", condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}

// With the policy's Rekor public key next to its key, a bundle must carry a
// log entry of that log: one signed offline, without any, is not trusted.
func TestBundleWithKeyNeedsALogEntryWhenThePolicyNamesRekor(t *testing.T) {
	dir := t.TempDir()
	key, _ := refsigtest.NewKey()
	ss, _ := refsigtest.NewSigstore()
	rekorPEM, _ := ss.RekorPublicKeyPEM()
	writeFile(t, dir, "cosign.pub", key.PEM)
	writeFile(t, dir, "rekor.pub", rekorPEM)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","rekorPublicKeyPath":"{{DIR}}/rekor.pub"}]}`))
	m, d := testManifest("rekor")
	b, _ := key.SignDSSE(refsigtest.Statement("r", d, refsigtest.CosignSignPredicate, nil))
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	if res.Verdict != VerdictRejected {
		t.Fatalf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRekorNotVerified, corev1.ConditionUnknown)
}
