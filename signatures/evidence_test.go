package signatures

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// evidenceOf returns the evidence of signature i, failing when Verify did not
// return one per signature.
func evidenceOf(t testing.TB, res Result, i int) Evidence {
	t.Helper()
	if len(res.Evidence) != len(res.Signatures) {
		t.Fatalf("%d evidence records for %d signatures", len(res.Evidence), len(res.Signatures))
	}
	return res.Evidence[i]
}

// assertNoSignerEvidence checks that an untrusted signature names no signer,
// time or certificate, and that no evidence of it counts as verified.
func assertNoSignerEvidence(t testing.TB, name string, e Evidence) {
	t.Helper()
	if e.KeyFingerprint != "" || e.CertificateSubject != "" || e.CertificateIssuer != "" || e.OIDCIssuer != "" ||
		!e.CertificateNotBefore.IsZero() || !e.CertificateNotAfter.IsZero() || !e.SigningTime.IsZero() || !e.SignatureExpiry.IsZero() ||
		e.TimeSource != TimeSourceNone || e.TimeVerified || e.TLogVerified || e.TimestampVerified {
		t.Errorf("%s: an untrusted signature carries evidence: %+v", name, e)
	}
}

// Simple signing: the signer is the OpenPGP key; its only time is the one the
// signer put into the signature packet, which nobody else attests.
func TestEvidenceOfSimpleSigning(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, true)
	m, d := testManifest("evidence-simple")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d,
		signSimple(t, keys.release, "registry.example.com/ns/app:v1", d), signSimple(t, keys.stranger, "registry.example.com/ns/app:v1", d))
	e := evidenceOf(t, res, 0)
	want := Evidence{KeyFingerprint: gpgFingerprint(keys.release), SigningTime: testSignAt, TimeSource: TimeSourceSigner}
	if e != want {
		t.Errorf("evidence %+v, want %+v", e, want)
	}
	assertNoSignerEvidence(t, "unknown key", evidenceOf(t, res, 1))
}

// A cosign .sig signature with a bare key: the key's fingerprint, and the
// payload's optional.timestamp as an unverified signer's time.
func TestEvidenceOfCosignKeySignature(t *testing.T) {
	v, key, stranger := newCosignFixture(t, "matchRepository")
	m, d := testManifest("evidence-cosign")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d,
		signCosign(t, key, "registry.example.com/ns/app", d), signCosign(t, stranger, "registry.example.com/ns/app", d))
	want := Evidence{KeyFingerprint: key.fp, SigningTime: testSignAt, TimeSource: TimeSourceSigner}
	if e := evidenceOf(t, res, 0); e != want {
		t.Errorf("evidence %+v, want %+v", e, want)
	}
	assertNoSignerEvidence(t, "stranger", evidenceOf(t, res, 1))
}

// A Fulcio-certified .sig with a Rekor SET: certificate subject, CA, OIDC
// issuer and validity, and the log's integrated time, verified.
func TestEvidenceOfFulcioSignatureWithRekorSET(t *testing.T) {
	dir := t.TempDir()
	fulcio := newTestCA(t, "sigstore.dev", "sigstore")
	rekor := newCosignKey(t)
	writeFile(t, dir, "fulcio.pem", fulcio.pem)
	writeFile(t, dir, "rekor.pub", rekor.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned",
	  "fulcio":{"caPath":"{{DIR}}/fulcio.pem","oidcIssuer":"https://issuer.example.com","subjectEmail":"release@example.com"},
	  "rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	m, d := testManifest("evidence-fulcio")
	integrated := testSignAt.Add(30 * time.Second)
	k := newCosignKey(t)
	s := signCosign(t, k, "registry.example.com/ns/app", d)
	ext := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 1, 1}, Value: []byte("https://issuer.example.com")}
	s.Certificate = fulcio.issue(t, k, "release@example.com", "", testSignAt, testSignAt.Add(10*time.Minute), ext)
	s.Bundle = rekorBundle(t, rekor, integrated, s.Content, s.SigstoreSignature, s.Certificate)
	s.Name = SignatureName(s)

	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, s)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	want := Evidence{KeyFingerprint: k.fp, CertificateSubject: "release@example.com", CertificateIssuer: "sigstore",
		OIDCIssuer: "https://issuer.example.com", CertificateNotBefore: testSignAt, CertificateNotAfter: testSignAt.Add(10 * time.Minute),
		SigningTime: integrated, TimeSource: TimeSourceTransparencyLog, TimeVerified: true, TLogPresent: true, TLogVerified: true}
	if e := evidenceOf(t, res, 0); e != want {
		t.Errorf("evidence\n %+v, want\n %+v", e, want)
	}
}

// A forged signed entry timestamp on a .sig: the integrated time in the SET
// payload moved an hour back after the log signed it. Guards the SET check
// (containers/image's, and rekorSETTime's, which names the reason): with it
// removed the signature would be trusted and dated by the forged time.
func TestForgedSETOnSigstoreAttachment(t *testing.T) {
	dir := t.TempDir()
	key, rekor := newCosignKey(t), newCosignKey(t)
	writeFile(t, dir, "cosign.pub", key.pem)
	writeFile(t, dir, "rekor.pub", rekor.pem)
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub",
	  "rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	m, d := testManifest("forged-set")
	integrated := testSignAt.Add(time.Minute)
	good := signCosign(t, key, "registry.example.com/ns/app", d)
	pubPEM := string(key.pem)
	good.Bundle = rekorBundle(t, rekor, integrated, good.Content, good.SigstoreSignature, pubPEM)

	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, good)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("genuine SET: verdict %s %q", res.Verdict, res.Reason)
	}
	if e := evidenceOf(t, res, 0); !e.TLogVerified || e.TimeSource != TimeSourceTransparencyLog || !e.SigningTime.Equal(integrated) {
		t.Errorf("genuine SET: evidence %+v", e)
	}

	forged := good
	forged.Bundle = replaceJSON(t, good.Bundle, []string{"Payload", "integratedTime"}, float64(integrated.Add(-time.Hour).Unix()))
	res = verify(t, v, "registry.example.com/ns/app:v1", m, d, forged)
	if res.Verdict != VerdictRejected {
		t.Errorf("forged SET: verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRekorNotVerified, corev1.ConditionUnknown)
	e := evidenceOf(t, res, 0)
	assertNoSignerEvidence(t, "forged SET", e)
	if !e.TLogPresent {
		t.Errorf("forged SET: the log evidence is present, if false: %+v", e)
	}
}

// replaceJSON sets the value at path in the JSON document doc (a string or
// bytes) and returns the document in the same type.
func replaceJSON[T string | []byte](t testing.TB, doc T, path []string, value any) T {
	t.Helper()
	var root map[string]any
	if err := json.Unmarshal([]byte(doc), &root); err != nil {
		t.Fatal(err)
	}
	node := root
	for _, k := range path[:len(path)-1] {
		next, ok := node[k].(map[string]any)
		if !ok {
			if list, isList := node[k].([]any); isList && len(list) > 0 {
				next, ok = list[0].(map[string]any)
			}
		}
		if !ok {
			t.Fatalf("no object at %q of %v in %s", k, path, doc)
		}
		node = next
	}
	if _, ok := node[path[len(path)-1]]; !ok {
		t.Fatalf("no %v in %s", path, doc)
	}
	node[path[len(path)-1]] = value
	out, err := json.Marshal(root)
	if err != nil {
		t.Fatal(err)
	}
	return T(out)
}
