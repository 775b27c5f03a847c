package signatures

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/internal/refsigtest"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	corev1 "k8s.io/api/core/v1"
)

// The fixtures under testdata/cosign were made by the cosign v3 CLI, not by
// this package's helpers (testdata/cosign/README.md says how; generate.sh
// makes them again): these tests check the verifiers against signatures a
// different implementation wrote, so that a verifier and its fixture do not
// share one library's mistakes.

const cliFixtures = "testdata/cosign"

type cliFixture struct {
	repository string // host:port/fixtures/app, as cosign signed it
	manifest   []byte
	digest     digest.Digest
	pub        []byte // cosign.pub
	pubFP      string
}

func readCLIFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cliFixtures, name))
	if err != nil {
		t.Fatalf("cosign CLI fixture: %v", err)
	}
	return b
}

func loadCLIFixture(t testing.TB) cliFixture {
	t.Helper()
	var info struct {
		Repository string `json:"repository"`
		Digest     string `json:"digest"`
	}
	if err := json.Unmarshal(readCLIFile(t, "fixture.json"), &info); err != nil {
		t.Fatal(err)
	}
	f := cliFixture{repository: info.Repository, manifest: readCLIFile(t, "image.manifest.json"), pub: readCLIFile(t, "cosign.pub")}
	f.digest = digest.FromBytes(f.manifest)
	if f.digest.String() != info.Digest {
		t.Fatalf("image.manifest.json has digest %s, fixture.json says %s", f.digest, info.Digest)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(f.pub)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	f.pubFP = hex.EncodeToString(sum[:])
	return f
}

// cosign sign --key with an offline signing config: a DSSE bundle over an
// in-toto statement, no log entry. It verifies under the policy's key, is
// dated by nothing, and altered copies do not verify: they are guarded by
// sigstore-go's DSSE signature check (with it patched out of a local copy of
// sigstore-go, each is trusted, as is the bundle under a stranger's key).
func TestCosignCLIBundle(t *testing.T) {
	f := loadCLIFixture(t)
	b := readCLIFile(t, "sign.bundle.json")
	if kind, err := BundleKind(b); err != nil || kind != CosignSignPredicate {
		t.Fatalf("BundleKind = %q, %v", kind, err)
	}
	v := newTestVerifier(t, keyPolicy(t, t.TempDir(), f.pub))
	const ref = "registry.example.com/team/app:v1"
	res := verify(t, v, ref, f.manifest, f.digest, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s); %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	if rec := res.Signatures[0]; rec.IssuedTo == nil || rec.IssuedTo.PublicKeyID != f.pubFP || rec.SignedClaims[ClaimDigest] != f.digest.String() {
		t.Errorf("issuedTo %+v claims %v", rec.IssuedTo, rec.SignedClaims)
	}
	want := Evidence{KeyFingerprint: f.pubFP, TimeSource: TimeSourceNone}
	if e := evidenceOf(t, res, 0); e != want {
		t.Errorf("evidence %+v, want %+v", e, want)
	}

	other, otherDigest := testManifest("not the fixture image")
	for _, c := range []struct {
		name     string
		m        []byte
		d        digest.Digest
		b        []byte
		reason   string
		forImage corev1.ConditionStatus
	}{
		{"statement rewritten to another manifest, checked against it", other, otherDigest, rewriteStatementDigest(t, b, f.digest, otherDigest), ReasonUnknownKey, corev1.ConditionUnknown},
		{"predicate type altered", f.manifest, f.digest, alterPayload(t, b), ReasonUnknownKey, corev1.ConditionUnknown},
		{"signature byte flipped", f.manifest, f.digest, flipDSSESignature(t, b), ReasonUnknownKey, corev1.ConditionUnknown},
		{"genuine, for another manifest", other, otherDigest, b, ReasonDigestMismatch, corev1.ConditionFalse},
	} {
		res := verify(t, v, ref, c.m, c.d, bundleSig(c.b))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", c.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, c.reason, c.forImage)
		assertNoSignerEvidence(t, c.name, evidenceOf(t, res, 0))
	}
	// Under another key, the genuine bundle is not trusted either.
	stranger, _ := refsigtest.NewKey()
	res = verify(t, newTestVerifier(t, keyPolicy(t, t.TempDir(), stranger.PEM)), ref, f.manifest, f.digest, bundleSig(b))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonUnknownKey, corev1.ConditionUnknown)
}

// flipDSSESignature flips one bit of a DSSE bundle's signature.
func flipDSSESignature(t testing.TB, b []byte) []byte {
	t.Helper()
	var doc struct {
		DSSE struct {
			Signatures []struct {
				Sig []byte `json:"sig"`
			} `json:"signatures"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.DSSE.Signatures) == 0 {
		t.Fatalf("no DSSE signature (%v)", err)
	}
	sig := bytes.Clone(doc.DSSE.Signatures[0].Sig)
	sig[len(sig)/2] ^= 0x01
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["dsseEnvelope"].(map[string]any)["signatures"].([]any)[0].(map[string]any)["sig"] = sig
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cosign attest --key: an attestation bundle of our own predicate type,
// judged by VerifyAttestation with the same policy; a rewritten predicate is
// caught by the DSSE signature check, as in TestCosignCLIBundle.
func TestCosignCLIAttestation(t *testing.T) {
	f := loadCLIFixture(t)
	b := readCLIFile(t, "attest.bundle.json")
	v := newTestVerifier(t, keyPolicy(t, t.TempDir(), f.pub))
	img := Image{Reference: mustRef(t, "registry.example.com/team/app:v1"), Manifest: f.manifest, ManifestDigest: f.digest}
	a := v.VerifyAttestation(context.Background(), img, b)
	if !a.Verified || a.PredicateType != "https://example.com/regimport/fixture/v1" || a.Signer != f.pubFP || a.Evidence.KeyFingerprint != f.pubFP {
		t.Fatalf("attestation %+v", a)
	}
	// The predicate rewritten after signing (a well-formed statement still):
	// the DSSE signature no longer covers it.
	tampered := rewriteDSSEPayload(t, b, `"fixture":"regimport"`, `"fixture":"tampered"`)
	if a := v.VerifyAttestation(context.Background(), img, tampered); a.Verified || a.Reason != ReasonUnknownKey || a.Evidence.KeyFingerprint != "" {
		t.Errorf("tampered attestation: %+v", a)
	}
}

// rewriteDSSEPayload replaces old by new in a bundle's DSSE payload, keeping
// the signature.
func rewriteDSSEPayload(t testing.TB, b []byte, old, new string) []byte {
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
	if !strings.Contains(string(payload), old) {
		t.Fatalf("the payload has no %s: %s", old, payload)
	}
	env["payload"] = base64.StdEncoding.EncodeToString([]byte(strings.Replace(string(payload), old, new, 1)))
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// cosign sign --new-bundle-format=false: the legacy sha256-<hex>.sig
// attachment, read with ParseSigstoreAttachment as the importer reads it.
// cosign signs the repository without the tag, so the policy needs
// matchRepository.
func TestCosignCLILegacySignature(t *testing.T) {
	f := loadCLIFixture(t)
	layers, err := ParseSigstoreAttachment(readCLIFile(t, "legacy.sig.manifest.json"))
	if err != nil || len(layers) != 2 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	payload := readCLIFile(t, "legacy.sig.payload.json")
	sig, err := layers[0].WithPayload(payload) // the key's; the second has a certificate
	if err != nil || sig.Certificate != "" {
		t.Fatalf("first layer: certificate %q, %v", sig.Certificate, err)
	}
	dir := t.TempDir()
	writeFile(t, dir, "cosign.pub", f.pub)
	scope := f.repository[:strings.LastIndex(f.repository, "/")]
	v := newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{"`+scope+`":[
		{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub","signedIdentity":{"type":"matchRepository"}}]}}}`))
	ref := f.repository + ":v1"
	res := verify(t, v, ref, f.manifest, f.digest, sig)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s); %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	rec := res.Signatures[0]
	if rec.ImageIdentity != f.repository || rec.IssuedTo == nil || rec.IssuedTo.PublicKeyID != f.pubFP {
		t.Errorf("identity %q issuedTo %+v", rec.ImageIdentity, rec.IssuedTo)
	}
	if e := evidenceOf(t, res, 0); e.KeyFingerprint != f.pubFP || e.TimeVerified || e.TLogPresent || e.TLogVerified {
		t.Errorf("evidence %+v", e)
	}

	tampered := sig
	tampered.Content = bytes.Replace(sig.Content, []byte(f.digest.Encoded()), []byte(strings.Repeat("0", 64)), 1)
	if bytes.Equal(tampered.Content, sig.Content) {
		t.Fatalf("the payload does not name the digest: %s", sig.Content)
	}
	tampered.Name = SignatureName(tampered)
	res = verify(t, v, ref, f.manifest, f.digest, tampered)
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonUnknownKey, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "tampered .sig payload", evidenceOf(t, res, 0))
}

// cosign sign --key with a signing config naming a timestamp authority: the
// bundle carries an RFC 3161 timestamp of the fixture's loopback TSA. With a
// trusted root naming that authority (tsa.trusted_root.json) the timestamp
// verifies and dates the signature; without one, or forged, or under a
// trusted root naming another authority, it is present and unverified. The
// policy accepts the signature on its key throughout.
func TestCosignCLIBundleWithRFC3161Timestamp(t *testing.T) {
	f := loadCLIFixture(t)
	b := readCLIFile(t, "sign.tsa.bundle.json")
	dir := t.TempDir()
	policy := keyPolicy(t, dir, f.pub)
	verifierWith := func(trustedRoot []byte) *Verifier {
		opts := Options{PolicyPath: policy, Now: func() time.Time { return testNow }, TempDir: t.TempDir()}
		if trustedRoot != nil {
			opts.SigstoreTrustedRoot = writeFile(t, t.TempDir(), "trusted_root.json", trustedRoot)
		}
		v, err := NewVerifier(opts)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	const ref = "registry.example.com/team/app:v1"
	res := verify(t, verifierWith(readCLIFile(t, "tsa.trusted_root.json")), ref, f.manifest, f.digest, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s)", res.Verdict, res.Reason)
	}
	e := evidenceOf(t, res, 0)
	signedAfter := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if e.KeyFingerprint != f.pubFP || !e.TimestampPresent || !e.TimestampVerified || e.TimeSource != TimeSourceRFC3161 || !e.TimeVerified ||
		e.SigningTime.Before(signedAfter) || e.SigningTime.After(time.Now()) || e.TLogPresent {
		t.Errorf("evidence %+v", e)
	}

	ss, err := refsigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	otherRoot, err := ss.TrustedRootJSON()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		trustedRoot []byte
		b           []byte
	}{
		{"no trusted root", nil, b},
		{"a trusted root naming another authority", otherRoot, b},
		{"a forged timestamp", readCLIFile(t, "tsa.trusted_root.json"), forgeTimestamp(t, b)},
	} {
		res := verify(t, verifierWith(c.trustedRoot), ref, f.manifest, f.digest, bundleSig(c.b))
		if res.Verdict != VerdictAccepted {
			t.Errorf("%s: verdict %s (%s), want accepted on the key", c.name, res.Verdict, res.Reason)
		}
		want := Evidence{KeyFingerprint: f.pubFP, TimeSource: TimeSourceNone, TimestampPresent: true}
		if e := evidenceOf(t, res, 0); e != want {
			t.Errorf("%s: evidence\n %+v, want\n %+v", c.name, e, want)
		}
	}
}

// cosign sign --key --certificate --certificate-chain with the fixture CA's
// Fulcio-shaped certificate (e-mail SAN, OIDC issuer extension), as a legacy
// .sig layer: trusted under a sigstoreSigned pki requirement naming the CA and
// the e-mail, with the certificate as evidence; not under one naming another
// e-mail.
func TestCosignCLILegacyCertificateSignature(t *testing.T) {
	f := loadCLIFixture(t)
	layers, err := ParseSigstoreAttachment(readCLIFile(t, "legacy.sig.manifest.json"))
	if err != nil || len(layers) != 2 {
		t.Fatalf("%d layers, %v", len(layers), err)
	}
	sig, err := layers[1].WithPayload(readCLIFile(t, "legacy.sig.payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	if sig.Certificate == "" {
		t.Fatal("the second layer carries no certificate")
	}
	scope := f.repository[:strings.LastIndex(f.repository, "/")]
	ref := f.repository + ":v1"
	// The fixture's certificate is valid from when it was made, after the
	// test clock's Now: containers/image checks it against the real clock,
	// and so must the reason for a rejection (it once said
	// CertificateExpired for the wrong e-mail below).
	pkiVerifier := func(email string) *Verifier {
		dir := t.TempDir()
		writeFile(t, dir, "ca.pem", readCLIFile(t, "ca.pem"))
		return newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"reject"}],"transports":{"docker":{"`+scope+`":[
			{"type":"sigstoreSigned","pki":{"caRootsPath":"{{DIR}}/ca.pem","subjectEmail":"`+email+`"},"signedIdentity":{"type":"matchRepository"}}]}}}`))
	}
	res := verify(t, pkiVerifier("release@example.com"), ref, f.manifest, f.digest, sig)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s (%s); %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	e := evidenceOf(t, res, 0)
	if e.KeyFingerprint != f.pubFP || e.CertificateSubject != "release@example.com" || e.CertificateIssuer != "regimport fixture CA" ||
		e.OIDCIssuer != "https://issuer.example.com" || e.CertificateNotBefore.IsZero() || !e.CertificateNotAfter.After(time.Now()) ||
		e.TimeSource != TimeSourceNone || e.TLogPresent {
		t.Errorf("evidence %+v", e)
	}
	res = verify(t, pkiVerifier("intern@example.com"), ref, f.manifest, f.digest, sig)
	if res.Verdict != VerdictRejected {
		t.Errorf("another e-mail: verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateNotTrusted, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "another e-mail", evidenceOf(t, res, 0))
}

// With --certificate-chain, cosign v3.1.3 writes the chain as
// x509CertificateChain into a v0.3 bundle, which the bundle specification
// does not allow in that version: sigstore-go refuses it, and so the record
// says the bundle is corrupt and why. Should a later sigstore-go accept such
// bundles, this test says so.
func TestCosignCLICertificateChainBundleIsRefused(t *testing.T) {
	f := loadCLIFixture(t)
	b := readCLIFile(t, "sign.certchain.bundle.json")
	v := newTestVerifier(t, keyPolicy(t, t.TempDir(), f.pub))
	res := verify(t, v, "registry.example.com/team/app:v1", f.manifest, f.digest, bundleSig(b))
	c := condition(t, res.Signatures[0], ConditionTrusted)
	if c.Status != corev1.ConditionFalse || c.Reason != ReasonCorruptSignature || !strings.Contains(c.Message, "chain") {
		t.Errorf("Trusted %s/%s (%s)", c.Status, c.Reason, c.Message)
	}
}

// The same certificate in a bundle with an RFC 3161 timestamp, under a
// fulcio requirement naming the fixture CA, the e-mail and the OIDC issuer
// with a trusted root holding that CA and the timestamp authority: the
// certificate chains and names the right signer, and the timestamp proves
// when it signed, but containers-policy.json's fulcio mode requires a Rekor
// entry, which cosign could not make offline; so it is not trusted, and says
// it is the log that is missing.
func TestCosignCLICertificateBundleWithoutLogEntry(t *testing.T) {
	f := loadCLIFixture(t)
	b := readCLIFile(t, "sign.cert.bundle.json")
	dir := t.TempDir()
	rekor, _ := refsigtest.NewKey()
	writeFile(t, dir, "ca.pem", readCLIFile(t, "ca.pem"))
	writeFile(t, dir, "rekor.pub", rekor.PEM)
	policy := writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":"{{DIR}}/ca.pem","oidcIssuer":"https://issuer.example.com",
		"subjectEmail":"release@example.com"},"rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`)
	v, err := NewVerifier(Options{PolicyPath: policy, SigstoreTrustedRoot: writeFile(t, dir, "trusted_root.json", readCLIFile(t, "cert.trusted_root.json")),
		Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res := verify(t, v, "registry.example.com/team/app:v1", f.manifest, f.digest, bundleSig(b))
	if res.Verdict != VerdictRejected {
		t.Errorf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRekorNotVerified, corev1.ConditionUnknown)
	if msg := condition(t, res.Signatures[0], ConditionTrusted).Message; !strings.Contains(msg, "log") {
		t.Errorf("message: %s", msg)
	}
	if e := evidenceOf(t, res, 0); !e.TimestampPresent || e.TLogPresent {
		t.Errorf("evidence %+v", e)
	}
}

// cosign sign --key with a signing config naming a Rekor log (the
// generator's loopback log, standing in for the public Rekor): what cosign
// does by default, a bundle with a Rekor entry (inclusion proof, checkpoint
// and signed entry timestamp). Under a policy naming the key and the log's
// key (rekor.pub) it is trusted and dated by the log; under the key alone it
// is trusted with the entry present but unverified, and verified when a
// trusted root names the log (rekor.trusted_root.json). Under the log's key,
// forged copies (the integrated time moved after the log signed it, an
// inclusion proof for another tree) and the genuine bundle under another
// log's key are rejected: guarded by sigstore-go's SET and inclusion-proof
// checks that verifyBundle asks for (see testdata/README.md).
func TestCosignCLIBundleWithRekorEntry(t *testing.T) {
	f := loadCLIFixture(t)
	b := readCLIFile(t, "sign.rekor.bundle.json")
	if kind, err := BundleKind(b); err != nil || kind != CosignSignPredicate {
		t.Fatalf("BundleKind = %q, %v", kind, err)
	}
	it, err := strconv.ParseInt(tlogEntry(t, b)["integratedTime"].(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	integrated := time.Unix(it, 0).UTC()
	rekorPolicy := func(rekorPub []byte) *Verifier {
		dir := t.TempDir()
		writeFile(t, dir, "cosign.pub", f.pub)
		writeFile(t, dir, "rekor.pub", rekorPub)
		return newTestVerifier(t, writePolicy(t, dir, `{"default":[{"type":"sigstoreSigned","keyPath":"{{DIR}}/cosign.pub",
			"rekorPublicKeyPath":"{{DIR}}/rekor.pub","signedIdentity":{"type":"matchRepository"}}]}`))
	}
	const ref = "registry.example.com/team/app:v1"
	withRekor := rekorPolicy(readCLIFile(t, "rekor.pub"))
	res := verify(t, withRekor, ref, f.manifest, f.digest, bundleSig(b))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("with Rekor: verdict %s (%s); %+v", res.Verdict, res.Reason, res.Signatures[0].Conditions)
	}
	verified := Evidence{KeyFingerprint: f.pubFP, SigningTime: integrated, TimeSource: TimeSourceTransparencyLog, TimeVerified: true, TLogPresent: true, TLogVerified: true}
	if e := evidenceOf(t, res, 0); e != verified {
		t.Errorf("with Rekor: evidence\n %+v, want\n %+v", e, verified)
	}

	res = verify(t, newTestVerifier(t, keyPolicy(t, t.TempDir(), f.pub)), ref, f.manifest, f.digest, bundleSig(b))
	if e, want := evidenceOf(t, res, 0), (Evidence{KeyFingerprint: f.pubFP, TimeSource: TimeSourceNone, TLogPresent: true}); res.Verdict != VerdictAccepted || e != want {
		t.Errorf("key only: verdict %s, evidence\n %+v, want\n %+v", res.Verdict, e, want)
	}
	dir := t.TempDir()
	withRoot, err := NewVerifier(Options{PolicyPath: keyPolicy(t, dir, f.pub), SigstoreTrustedRoot: writeFile(t, dir, "trusted_root.json", readCLIFile(t, "rekor.trusted_root.json")),
		Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	res = verify(t, withRoot, ref, f.manifest, f.digest, bundleSig(b))
	if e := evidenceOf(t, res, 0); res.Verdict != VerdictAccepted || e != verified {
		t.Errorf("key with a trusted root naming the log: verdict %s, evidence\n %+v, want\n %+v", res.Verdict, e, verified)
	}

	otherLog, err := refsigtest.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		v    *Verifier
		b    []byte
	}{
		{"forged signed entry timestamp", withRekor, forgeIntegratedTime(t, b, -time.Hour)},
		{"forged inclusion proof", withRekor, forgeInclusionProof(t, b)},
		{"another log's key", rekorPolicy(otherLog.PEM), b},
	} {
		res := verify(t, c.v, ref, f.manifest, f.digest, bundleSig(c.b))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", c.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRekorNotVerified, corev1.ConditionUnknown)
		assertNoSignerEvidence(t, c.name, evidenceOf(t, res, 0))
		t.Logf("%s: %s", c.name, condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}
