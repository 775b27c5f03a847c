package signatures

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/internal/refsigtest"
	corev1 "k8s.io/api/core/v1"
)

// keyWithLog is a cosign key, a test sigstore whose Rekor log records the
// key's signatures, and two verifiers: one whose policy names the key and
// the log's public key, one naming the key alone.
type keyWithLog struct {
	key              *refsigtest.Key
	ss               *refsigtest.Sigstore
	withRekor, keyed *Verifier
}

func newKeyWithLog(t *testing.T) keyWithLog {
	t.Helper()
	dir := t.TempDir()
	key, err := refsigtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	ss, err := refsigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	rekorPEM, err := ss.RekorPublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "cosign.pub", key.PEM)
	writeFile(t, dir, "rekor.pub", rekorPEM)
	withRekor := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub",
		"rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	keyOnly := t.TempDir()
	return keyWithLog{key: key, ss: ss, withRekor: withRekor, keyed: newTestVerifier(t, keyPolicy(t, keyOnly, key.PEM))}
}

// tlogEntry returns the first transparency-log entry of a bundle, as JSON.
func tlogEntry(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var doc struct {
		VerificationMaterial struct {
			TlogEntries []map[string]any `json:"tlogEntries"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.VerificationMaterial.TlogEntries) == 0 {
		t.Fatalf("no tlog entry in %s (%v)", b, err)
	}
	return doc.VerificationMaterial.TlogEntries[0]
}

// forgeIntegratedTime moves the log entry's integrated time after the log
// signed it: its signed entry timestamp no longer covers what it says.
func forgeIntegratedTime(t testing.TB, b []byte, by time.Duration) []byte {
	t.Helper()
	it, err := strconv.ParseInt(tlogEntry(t, b)["integratedTime"].(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return replaceJSON(t, b, []string{"verificationMaterial", "tlogEntries", "integratedTime"}, strconv.FormatInt(it+int64(by/time.Second), 10))
}

// forgeInclusionProof replaces the root hash of the entry's inclusion proof:
// a proof of inclusion in a tree that does not hold the entry.
func forgeInclusionProof(t testing.TB, b []byte) []byte {
	t.Helper()
	if _, ok := tlogEntry(t, b)["inclusionProof"]; !ok {
		t.Fatal("the bundle has no inclusion proof to forge")
	}
	return replaceJSON(t, b, []string{"verificationMaterial", "tlogEntries", "inclusionProof", "rootHash"},
		base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32)))
}

// What `cosign sign --key` makes by default: a bundle signed with the key
// that carries a Rekor entry (inclusion proof and signed entry timestamp).
// Under a policy naming the log's key it is accepted and dated by the log;
// under a policy naming the key alone it is accepted too, with the entry
// present but not verified (there is no log key to check it with) and no
// trusted time.
func TestKeySignedBundleWithRekorEntry(t *testing.T) {
	f := newKeyWithLog(t)
	m, d := testManifest("key-with-log")
	integrated := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	b, err := f.key.SignDSSEWithLog(f.ss, refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil), integrated)
	if err != nil {
		t.Fatal(err)
	}
	fp := keyFingerprint(t, f.key)

	res := verify(t, f.withRekor, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("with Rekor: verdict %s (%s); %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	want := Evidence{KeyFingerprint: fp, SigningTime: integrated, TimeSource: TimeSourceTransparencyLog, TimeVerified: true, TLogPresent: true, TLogVerified: true}
	if e := evidenceOf(t, res, 0); e != want {
		t.Errorf("with Rekor: evidence\n %+v, want\n %+v", e, want)
	}
	if rec := res.Signatures[0]; rec.Created == nil || !rec.Created.Time.Equal(integrated) {
		t.Errorf("with Rekor: created %v, want the integrated time %v", rec.Created, integrated)
	}

	res = verify(t, f.keyed, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("key only: verdict %s (%s)", res.Verdict, res.Reason)
	}
	want = Evidence{KeyFingerprint: fp, TimeSource: TimeSourceNone, TLogPresent: true}
	if e := evidenceOf(t, res, 0); e != want {
		t.Errorf("key only: evidence\n %+v, want\n %+v", e, want)
	}

	// The same policy with a trusted root that names the log: the entry is
	// checked against it and dates the signature; a forged entry is then
	// present but not verified, and the policy still accepts the signature
	// on its key.
	dir := t.TempDir()
	trJSON, err := f.ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	withRoot, err := NewVerifier(Options{PolicyPath: keyPolicy(t, dir, f.key.PEM), SigstoreTrustedRoot: writeFile(t, dir, "trusted_root.json", trJSON),
		Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res = verify(t, withRoot, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	want = Evidence{KeyFingerprint: fp, SigningTime: integrated, TimeSource: TimeSourceTransparencyLog, TimeVerified: true, TLogPresent: true, TLogVerified: true}
	if e := evidenceOf(t, res, 0); res.Verdict != VerdictAccepted || e != want {
		t.Errorf("key with a trusted root: verdict %s, evidence\n %+v, want\n %+v", res.Verdict, e, want)
	}
	res = verify(t, withRoot, "registry.example.com/team/app:v1", m, d, bundleSig(forgeIntegratedTime(t, b, -time.Hour)))
	want = Evidence{KeyFingerprint: fp, TimeSource: TimeSourceNone, TLogPresent: true}
	if e := evidenceOf(t, res, 0); res.Verdict != VerdictAccepted || e != want {
		t.Errorf("key with a trusted root, forged entry: verdict %s, evidence\n %+v, want\n %+v", res.Verdict, e, want)
	}
}

// Forged log evidence on a key-signed bundle under a policy that names the
// Rekor key: the integrated time moved after the log signed the entry (a
// forged signed entry timestamp), an inclusion proof for another tree, and
// the genuine log entry of another signature of the same statement by the
// same key (a signature that was never logged, borrowing an entry). Guards
// verifyBundle's sgverify.WithTransparencyLog(1) and
// WithIntegratedTimestamps(1) for a policy with rekorPublicKey*: with
// WithNoObserverTimestamps in their place, all are trusted. Within
// sigstore-go, the first is guarded by the SET check (tlog.VerifySET), the
// second by tlog.VerifyInclusion, the third by the comparison of the entry's
// signature with the bundle's.
func TestKeySignedBundleWithForgedLogEvidence(t *testing.T) {
	f := newKeyWithLog(t)
	m, d := testManifest("key-with-forged-log")
	statement := refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil)
	good, err := f.key.SignDSSEWithLog(f.ss, statement, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.key.SignDSSEWithLog(f.ss, statement, time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"forged signed entry timestamp":  forgeIntegratedTime(t, good, -24*time.Hour),
		"forged inclusion proof":         forgeInclusionProof(t, good),
		"log entry of another signature": withTlogEntriesOf(t, good, again),
	} {
		res := verify(t, f.withRekor, "registry.example.com/team/app:v1", m, d, bundleSig(b))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRekorNotVerified, corev1.ConditionUnknown)
		e := evidenceOf(t, res, 0)
		assertNoSignerEvidence(t, name, e)
		if !e.TLogPresent {
			t.Errorf("%s: the entry is there, if forged: %+v", name, e)
		}
		t.Logf("%s: %s", name, condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}

// withTlogEntriesOf is b with the transparency-log entries of from.
func withTlogEntriesOf(t testing.TB, b, from []byte) []byte {
	t.Helper()
	var doc, src map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(from, &src); err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(doc["verificationMaterial"].(map[string]any)["tlogEntries"], src["verificationMaterial"].(map[string]any)["tlogEntries"]) {
		t.Fatal("the two bundles have the same log entries")
	}
	doc["verificationMaterial"].(map[string]any)["tlogEntries"] = src["verificationMaterial"].(map[string]any)["tlogEntries"]
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rewriteStatementDigest rewrites the subject digest of a DSSE bundle's
// in-toto statement, keeping its signature: a signature made for one image
// presented as another's.
func rewriteStatementDigest(t testing.TB, b []byte, from, to digest.Digest) []byte {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	env := doc["dsseEnvelope"].(map[string]any)
	payload, err := base64.StdEncoding.DecodeString(env["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(payload, []byte(from.Encoded())) {
		t.Fatalf("the statement does not name %s: %s", from, payload)
	}
	env["payload"] = base64.StdEncoding.EncodeToString(bytes.ReplaceAll(payload, []byte(from.Encoded()), []byte(to.Encoded())))
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A message-signature bundle made for another manifest whose message digest
// was rewritten to this manifest's: the signature does not cover it. Guards
// sigstore-go's signature check of a message signature over the digest
// verifyBundle passes it (sgverify.WithArtifactDigest of this manifest); the
// untampered bundle, checked against its own digest, is told apart as a
// signature for another manifest. (With that check patched out of a local
// copy of sigstore-go, the tampered bundle is trusted.)
func TestTamperedMessageSignatureBundle(t *testing.T) {
	dir := t.TempDir()
	key, err := refsigtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, keyPolicy(t, dir, key.PEM))
	m, d := testManifest("message")
	other, _ := testManifest("another image")
	signed, err := key.SignMessage(other)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hex.DecodeString(d.Encoded())
	if err != nil {
		t.Fatal(err)
	}
	tampered := replaceJSON(t, signed, []string{"messageSignature", "messageDigest", "digest"}, base64.StdEncoding.EncodeToString(want))
	if bytes.Equal(tampered, signed) {
		t.Fatal("nothing was tampered with")
	}
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(tampered))
	if res.Verdict != VerdictRejected {
		t.Errorf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonUnknownKey, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "tampered message signature", evidenceOf(t, res, 0))
	// The untampered bundle is a signature for the other manifest, and says so.
	res = verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(signed))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonDigestMismatch, corev1.ConditionFalse)
}

// Keyless evidence: the certificate's subject, CA, OIDC issuer and validity,
// and the log's integrated time, verified.
func TestEvidenceOfKeylessBundle(t *testing.T) {
	ss, v := keylessFixture(t)
	m, d := testManifest("keyless-evidence")
	b, err := ss.SignKeyless("release@example.com", "https://issuer.example.com", refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s)", res.Verdict, res.Reason)
	}
	e := evidenceOf(t, res, 0)
	integrated, _ := strconv.ParseInt(tlogEntry(t, b)["integratedTime"].(string), 10, 64)
	if e.CertificateSubject != "release@example.com" || e.OIDCIssuer != "https://issuer.example.com" || e.CertificateIssuer == "" ||
		e.KeyFingerprint == "" || e.CertificateNotBefore.IsZero() || !e.CertificateNotAfter.After(e.CertificateNotBefore) ||
		e.TimeSource != TimeSourceTransparencyLog || !e.TimeVerified || !e.SigningTime.Equal(time.Unix(integrated, 0)) ||
		!e.TLogPresent || !e.TLogVerified || e.TimestampPresent || e.TimestampVerified {
		t.Errorf("evidence %+v", e)
	}
}

// A keyless signature by the right identity from another OIDC issuer is not
// trusted. Guards the issuer of the certificate identity verifyKeylessBundle
// asks sigstore-go for (r.oidcIssuer): with any issuer accepted, it is
// trusted.
func TestKeylessBundleFromAnotherOIDCIssuer(t *testing.T) {
	ss, v := keylessFixture(t)
	m, d := testManifest("keyless-issuer")
	b, err := ss.SignKeyless("release@example.com", "https://evil.example.com", refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	if res.Verdict != VerdictRejected {
		t.Errorf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateNotTrusted, corev1.ConditionUnknown)
	if msg := condition(t, res.Signatures[0], ConditionTrusted).Message; !strings.Contains(msg, "https://issuer.example.com") {
		t.Errorf("the message does not say which issuer was expected: %s", msg)
	}
	assertNoSignerEvidence(t, "another issuer", evidenceOf(t, res, 0))
}

// A keyless bundle signed for another manifest, its statement rewritten to
// name this one; and forged log evidence on a genuine keyless bundle. Each is
// rejected. The tampered statement is caught twice: by the log entry's hash
// of the envelope payload (checked first, hence RekorNotVerified) and by the
// DSSE signature (InvalidSignature once the log check is gone). The forged
// SET and inclusion proof are guarded by verifyKeylessBundle's
// sgverify.WithTransparencyLog(1) and WithObserverTimestamps(1): with the
// certificate checked at the current time instead, both are trusted.
func TestKeylessBundleTamperedOrWithForgedLogEvidence(t *testing.T) {
	ss, v := keylessFixture(t)
	m, d := testManifest("keyless-tampered")
	_, otherDigest := testManifest("another image")
	forOther, err := ss.SignKeyless("release@example.com", "https://issuer.example.com",
		refsigtest.Statement("registry.example.com/team/app", otherDigest, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	good, err := ss.SignKeyless("release@example.com", "https://issuer.example.com",
		refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	if res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(good)); res.Verdict != VerdictAccepted {
		t.Fatalf("the genuine bundle: %s (%s)", res.Verdict, res.Reason)
	}
	for _, c := range []struct {
		name, reason string
		b            []byte
	}{
		{"statement rewritten to this manifest", ReasonRekorNotVerified, rewriteStatementDigest(t, forOther, otherDigest, d)},
		{"forged signed entry timestamp", ReasonRekorNotVerified, forgeIntegratedTime(t, good, time.Minute)},
		{"forged inclusion proof", ReasonRekorNotVerified, forgeInclusionProof(t, good)},
	} {
		res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(c.b))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", c.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, c.reason, corev1.ConditionUnknown)
		assertNoSignerEvidence(t, c.name, evidenceOf(t, res, 0))
		t.Logf("%s: %s", c.name, condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}

// The RFC 3161 path: a keyless bundle with a log entry and a timestamp of
// the test sigstore's timestamp authority, verified against a trusted root
// that names that authority. The timestamp (made before the log integrated
// the entry) dates the signature. A timestamp whose signature was forged,
// or one from an authority the trusted root does not name, is present but
// not verified, and the log's time is the signing time.
func TestKeylessBundleWithRFC3161Timestamp(t *testing.T) {
	ss, v := keylessFixture(t)
	m, d := testManifest("keyless-rfc3161")
	b, err := ss.SignKeylessTimestamped("release@example.com", "https://issuer.example.com",
		refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s)", res.Verdict, res.Reason)
	}
	e := evidenceOf(t, res, 0)
	integrated, _ := strconv.ParseInt(tlogEntry(t, b)["integratedTime"].(string), 10, 64)
	if !e.TimestampPresent || !e.TimestampVerified || e.TimeSource != TimeSourceRFC3161 || !e.TimeVerified ||
		!e.SigningTime.Before(time.Unix(integrated, 0)) || !e.TLogVerified {
		t.Errorf("evidence %+v (log time %v)", e, time.Unix(integrated, 0).UTC())
	}

	// The same bundle under a trusted root without the timestamp authority.
	dir := t.TempDir()
	trJSON, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(trJSON, &tr); err != nil {
		t.Fatal(err)
	}
	if _, ok := tr["timestampAuthorities"]; !ok {
		t.Fatalf("the trusted root names no timestamp authority: %s", trJSON)
	}
	delete(tr, "timestampAuthorities")
	noTSA, _ := json.Marshal(tr)
	caPEM, _ := ss.FulcioCAPEM()
	rekorPEM, _ := ss.RekorPublicKeyPEM()
	writeFile(t, dir, "fulcio.pem", caPEM)
	writeFile(t, dir, "rekor.pub", rekorPEM)
	policy := writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"{{DIR}}/fulcio.pem","oidcIssuer":"https://issuer.example.com",
		"subjectEmail":"release@example.com"},"rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`)
	withoutTSA, err := NewVerifier(Options{PolicyPath: policy, SigstoreTrustedRoot: writeFile(t, dir, "trusted_root.json", noTSA), Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	forged := forgeTimestamp(t, b)
	for name, c := range map[string]struct {
		v *Verifier
		b []byte
	}{"authority not in the trusted root": {withoutTSA, b}, "forged timestamp": {v, forged}} {
		res := verify(t, c.v, "registry.example.com/team/app:v1", m, d, bundleSig(c.b))
		if res.Verdict != VerdictAccepted {
			t.Fatalf("%s: verdict %s (%s), want accepted on the log entry", name, res.Verdict, res.Reason)
		}
		e := evidenceOf(t, res, 0)
		if !e.TimestampPresent || e.TimestampVerified || e.TimeSource != TimeSourceTransparencyLog || !e.SigningTime.Equal(time.Unix(integrated, 0)) {
			t.Errorf("%s: evidence %+v", name, e)
		}
	}
}

// forgeTimestamp alters the last byte of the RFC 3161 response's signature.
func forgeTimestamp(t testing.TB, b []byte) []byte {
	t.Helper()
	var doc struct {
		VerificationMaterial struct {
			TimestampVerificationData struct {
				RFC3161Timestamps []struct {
					SignedTimestamp []byte `json:"signedTimestamp"`
				} `json:"rfc3161Timestamps"`
			} `json:"timestampVerificationData"`
		} `json:"verificationMaterial"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.VerificationMaterial.TimestampVerificationData.RFC3161Timestamps) == 0 {
		t.Fatalf("no RFC 3161 timestamp in the bundle (%v)", err)
	}
	ts := bytes.Clone(doc.VerificationMaterial.TimestampVerificationData.RFC3161Timestamps[0].SignedTimestamp)
	ts[len(ts)-1] ^= 0xff
	return replaceJSON(t, b, []string{"verificationMaterial", "timestampVerificationData", "rfc3161Timestamps", "signedTimestamp"}, base64.StdEncoding.EncodeToString(ts))
}
