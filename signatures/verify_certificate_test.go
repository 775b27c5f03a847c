package signatures

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// pkiFixture: a CA trusted for release@example.com by a sigstoreSigned pki requirement.
func newPKIFixture(t *testing.T) (*Verifier, testCA) {
	t.Helper()
	dir := t.TempDir()
	ca := newTestCA(t, "Example Corp", "Example Signing CA")
	writeFile(t, dir, "ca.pem", ca.pem)
	return newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned",
	  "pki":{"caRootsPath":"{{DIR}}/ca.pem","subjectEmail":"release@example.com"},
	  "signedIdentity":{"type":"matchRepository"}}]}`)), ca
}

// validity spans both the test clock and the real one (containers/image checks
// certificates against time.Now).
func validity() (time.Time, time.Time) {
	early, late := testNow, time.Now()
	if late.Before(early) {
		early, late = late, early
	}
	return early.Add(-24 * time.Hour), late.AddDate(1, 0, 0)
}

func TestVerifyPKICertificate(t *testing.T) {
	v, ca := newPKIFixture(t)
	other := newTestCA(t, "Someone Else", "Other CA")
	m, d := testManifest("pki")
	from, to := validity()
	early, _ := validity()

	sign := func(ca testCA, email string, notBefore, notAfter time.Time, identity string) (Signature, cosignKey) {
		k := newCosignKey(t)
		s := signCosign(t, k, identity, d)
		s.Certificate = ca.issue(t, k, email, "Example Corp Release", notBefore, notAfter)
		s.Name = SignatureName(s)
		return s, k
	}

	good, key := sign(ca, "release@example.com", from, to, "registry.example.com/ns/app")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, good)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	rec := res.Signatures[0]
	assertTrusted(t, rec, "registry.example.com/ns/app", d, key.fp)
	if rec.IssuedTo.CommonName != "release@example.com" || rec.IssuedTo.Organization != "Example Corp Release" {
		t.Errorf("issuedTo %+v", rec.IssuedTo)
	}
	if rec.IssuedBy == nil || rec.IssuedBy.CommonName != "Example Signing CA" || rec.IssuedBy.Organization != "Example Corp" {
		t.Errorf("issuedBy %+v", rec.IssuedBy)
	}

	expired, _ := sign(ca, "release@example.com", early.AddDate(-2, 0, 0), early.AddDate(-1, 0, 0), "registry.example.com/ns/app")
	wrongEmail, _ := sign(ca, "intern@example.com", from, to, "registry.example.com/ns/app")
	wrongCA, _ := sign(other, "release@example.com", from, to, "registry.example.com/ns/app")
	wrongIdentity, _ := sign(ca, "release@example.com", from, to, "registry.example.com/other/app")
	noCert := good
	noCert.Certificate = ""
	cases := []struct {
		name     string
		sig      Signature
		reason   string
		forImage corev1.ConditionStatus
	}{
		{"expired-certificate", expired, ReasonCertificateExpired, corev1.ConditionUnknown},
		{"wrong-subject-email", wrongEmail, ReasonCertificateNotTrusted, corev1.ConditionUnknown},
		{"unknown-ca", wrongCA, ReasonCertificateNotTrusted, corev1.ConditionUnknown},
		{"no-certificate", noCert, ReasonCertificateNotTrusted, corev1.ConditionUnknown},
		{"wrong-identity", wrongIdentity, ReasonIdentityNotAccepted, corev1.ConditionFalse},
	}
	for _, tc := range cases {
		res := verify(t, v, "registry.example.com/ns/app:v1", m, d, tc.sig)
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", tc.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, tc.reason, tc.forImage)
	}
}

// rekorBundle makes the dev.sigstore.cosign/bundle annotation of a signature: a
// hashedrekord entry for (payload, signature, cert) and the log's signature over it.
func rekorBundle(t *testing.T, rekor cosignKey, integrated time.Time, p []byte, b64Signature, certPEM string) string {
	t.Helper()
	sig, err := base64.StdEncoding.DecodeString(b64Signature)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(p)
	body, err := json.Marshal(map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "hashedrekord",
		"spec": map[string]any{
			"data":      map[string]any{"hash": map[string]any{"algorithm": "sha256", "value": hex.EncodeToString(sum[:])}},
			"signature": map[string]any{"content": sig, "publicKey": map[string]any{"content": []byte(certPEM)}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// json.Marshal of a map sorts keys and, for this content, is already canonical JSON.
	setPayload, err := json.Marshal(map[string]any{"body": body, "integratedTime": integrated.Unix(), "logIndex": 42, "logID": strings.Repeat("ab", 32)})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(setPayload)
	set, err := ecdsa.SignASN1(rand.Reader, rekor.priv, h[:])
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := json.Marshal(map[string]any{"SignedEntryTimestamp": set, "Payload": json.RawMessage(setPayload)})
	if err != nil {
		t.Fatal(err)
	}
	return string(bundle)
}

func TestVerifyFulcioWithRekorOffline(t *testing.T) {
	dir := t.TempDir()
	fulcio := newTestCA(t, "sigstore.dev", "sigstore")
	rekor, otherRekor := newCosignKey(t), newCosignKey(t)
	writeFile(t, dir, "fulcio.pem", fulcio.pem)
	writeFile(t, dir, "rekor.pub", rekor.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned",
	  "fulcio":{"caPath":"{{DIR}}/fulcio.pem","oidcIssuer":"https://issuer.example.com","subjectEmail":"release@example.com"},
	  "rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	m, d := testManifest("fulcio")
	integrated := testSignAt.Add(30 * time.Second)

	// Fulcio certificates live ten minutes; they are checked at the Rekor time.
	sign := func(issuer, email string, log cosignKey) (Signature, cosignKey) {
		k := newCosignKey(t)
		s := signCosign(t, k, "registry.example.com/ns/app", d)
		ext := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte(issuer)}
		s.Certificate = fulcio.issue(t, k, email, "", testSignAt, testSignAt.Add(10*time.Minute), ext)
		s.Bundle = rekorBundle(t, log, integrated, s.Content, s.SigstoreSignature, s.Certificate)
		s.Name = SignatureName(s)
		return s, k
	}
	good, key := sign("https://issuer.example.com", "release@example.com", rekor)
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, good)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	rec := res.Signatures[0]
	if c := condition(t, rec, ConditionTrusted); c.Status != corev1.ConditionTrue {
		t.Fatalf("Trusted %s %s %s", c.Status, c.Reason, c.Message)
	}
	if rec.IssuedTo.PublicKeyID != key.fp || rec.IssuedTo.CommonName != "release@example.com" ||
		rec.IssuedBy == nil || rec.IssuedBy.Organization != "sigstore.dev" || rec.IssuedBy.CommonName != "sigstore" {
		t.Errorf("issuedTo %+v issuedBy %+v", rec.IssuedTo, rec.IssuedBy)
	}
	if rec.Created == nil || !rec.Created.Time.Equal(integrated) {
		t.Errorf("created %v, want the Rekor integration time %v", rec.Created, integrated)
	}

	wrongIssuer, _ := sign("https://evil.example.com", "release@example.com", rekor)
	foreignLog, _ := sign("https://issuer.example.com", "release@example.com", otherRekor)
	noBundle := good
	noBundle.Bundle = ""
	cases := []struct {
		name   string
		sig    Signature
		reason string
	}{
		{"wrong-oidc-issuer", wrongIssuer, ReasonCertificateNotTrusted},
		{"set-of-another-log", foreignLog, ReasonRekorNotVerified},
		{"no-bundle", noBundle, ReasonRekorNotVerified},
	}
	for _, tc := range cases {
		res := verify(t, v, "registry.example.com/ns/app:v1", m, d, tc.sig)
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", tc.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, tc.reason, corev1.ConditionUnknown)
	}
}
