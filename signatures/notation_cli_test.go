package signatures

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/refsigtest"
	corev1 "k8s.io/api/core/v1"
)

// The fixtures under testdata/notation were made by the notation v1.3.2 CLI
// (testdata/notation/README.md says how; generate.sh makes them again), not
// by refsigtest's notation-go signer: the verifier is checked against
// envelopes a different program wrote, so that it and its fixtures do not
// share one library's mistakes.

const notationFixtures = "testdata/notation"

// The subjects of the fixture's two signers, as trustedIdentities spells them.
const (
	notationCLIRelease  = "x509.subject: C=US, ST=WA, O=regimport fixtures, CN=Release Signer"
	notationCLIExpiring = "x509.subject: C=US, ST=WA, O=regimport fixtures, CN=Expiring Signer"
	notationCLIRef      = "registry.example.com/team/app:v1"
)

type notationCLIFixture struct {
	manifest []byte
	digest   digest.Digest
	root     []byte // the fixture CA, root.crt
	notAfter time.Time
}

func readNotationFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(notationFixtures, name))
	if err != nil {
		t.Fatalf("notation CLI fixture: %v", err)
	}
	return b
}

func loadNotationCLIFixture(t testing.TB) notationCLIFixture {
	t.Helper()
	var info struct {
		Digest   string    `json:"digest"`
		NotAfter time.Time `json:"expiringCertificateNotAfter"`
	}
	if err := json.Unmarshal(readNotationFile(t, "fixture.json"), &info); err != nil {
		t.Fatal(err)
	}
	f := notationCLIFixture{manifest: readNotationFile(t, "image.manifest.json"), root: readNotationFile(t, "root.crt"), notAfter: info.NotAfter}
	f.digest = digest.FromBytes(f.manifest)
	if f.digest.String() != info.Digest {
		t.Fatalf("image.manifest.json has digest %s, fixture.json says %s", f.digest, info.Digest)
	}
	return f
}

// notationCLISignature reads NAME.manifest.json and NAME.sig: the referrer
// manifest notation pushed and its envelope, checked to be what the
// manifest names.
func notationCLISignature(t testing.TB, f notationCLIFixture, name, envelopeType string) []byte {
	t.Helper()
	var m imgspecv1.Manifest
	if err := json.Unmarshal(readNotationFile(t, name+".manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	env := readNotationFile(t, name+".sig")
	if m.Config.MediaType != NotationArtifactType || len(m.Layers) != 1 || m.Layers[0].MediaType != envelopeType ||
		m.Layers[0].Digest != digest.FromBytes(env) || m.Subject == nil || m.Subject.Digest != f.digest {
		t.Fatalf("%s.manifest.json is not a %s notation signature of the fixture image: %+v", name, envelopeType, m)
	}
	return env
}

// notationCLIVerifier verifies under trustPolicy with a trust store holding
// the given CA certificates in the store "fixtures" (the checked-in trust
// policy's).
func notationCLIVerifier(t testing.TB, trustPolicy []byte, roots ...[]byte) *Verifier {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "truststore")
	caDir := filepath.Join(store, "x509", "ca", "fixtures")
	if err := os.MkdirAll(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, r := range roots {
		writeFile(t, caDir, "root"+string(rune('a'+i))+".crt", r)
	}
	v, err := NewVerifier(Options{NotationTrustPolicy: writeFile(t, dir, "trustpolicy.json", trustPolicy), NotationTrustStore: store,
		Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func notationCLIPolicy(identities []string, verification map[string]any) []byte {
	if verification == nil {
		verification = map[string]any{"level": "strict"}
	}
	return refsigtest.TrustPolicyFor("fixtures", verification, identities, "registry.example.com/team/app")
}

// The CLI's JWS and COSE signatures by the release signer verify under the
// trust policy the CLI itself verified them with (trustpolicy.json: strict,
// the fixture CA, the release signer only), with the certificate and the
// signing time notation wrote (the second the referrer manifest was
// created) as evidence.
func TestNotationCLISignatures(t *testing.T) {
	f := loadNotationCLIFixture(t)
	v := notationCLIVerifier(t, readNotationFile(t, "trustpolicy.json"), f.root)
	for _, c := range []struct{ name, envelopeType string }{{"jws", NotationJWSMediaType}, {"cose", NotationCOSEMediaType}} {
		env := notationCLISignature(t, f, c.name, c.envelopeType)
		res := verify(t, v, notationCLIRef, f.manifest, f.digest, notationSig(env))
		if res.Verdict != VerdictAccepted {
			t.Fatalf("%s: verdict %s (%s); %+v", c.name, res.Verdict, res.Reason, res.Signatures[0].Conditions)
		}
		var m imgspecv1.Manifest
		_ = json.Unmarshal(readNotationFile(t, c.name+".manifest.json"), &m)
		created, err := time.Parse(time.RFC3339, m.Annotations[imgspecv1.AnnotationCreated])
		if err != nil {
			t.Fatalf("%s: the referrer manifest's creation time: %v", c.name, err)
		}
		e := evidenceOf(t, res, 0)
		if e.CertificateSubject != "Release Signer" || e.CertificateIssuer != "regimport notation fixture CA" || e.KeyFingerprint == "" ||
			!e.CertificateNotAfter.After(e.SigningTime.AddDate(19, 0, 0)) || e.TimeSource != TimeSourceNotationSigningTime || e.TimeVerified ||
			e.SigningTime.Truncate(time.Second).Sub(created).Abs() > time.Second || e.TLogPresent || e.TimestampPresent {
			t.Errorf("%s: evidence %+v (manifest created %v)", c.name, e, created)
		}
	}
}

// trustedIdentities against the CLI's signatures: the release signer's is
// trusted under a policy naming it, the expiring signer's (same CA) is not;
// and no identity is trusted whose CA is not in the trust store. Guards
// notation-go's trusted-identity match (verifyX509TrustedIdentities): with
// it always passing, the expiring signer's signature, under a policy that
// only logs its expiry, is trusted.
func TestNotationCLITrustedIdentities(t *testing.T) {
	f := loadNotationCLIFixture(t)
	jws := notationCLISignature(t, f, "jws", NotationJWSMediaType)
	expired := notationCLISignature(t, f, "expired", NotationJWSMediaType)
	lenient := map[string]any{"level": "strict", "override": map[string]any{"authenticTimestamp": "log"}}

	if res := verify(t, notationCLIVerifier(t, notationCLIPolicy([]string{notationCLIExpiring}, lenient), f.root), notationCLIRef, f.manifest, f.digest, notationSig(expired)); res.Verdict != VerdictAccepted {
		t.Fatalf("the expiring signer under a policy naming it: verdict %s (%s)", res.Verdict, res.Reason)
	}
	releaseOnly := notationCLIVerifier(t, notationCLIPolicy([]string{notationCLIRelease}, lenient), f.root)
	res := verify(t, releaseOnly, notationCLIRef, f.manifest, f.digest, notationSig(expired))
	if res.Verdict != VerdictRejected {
		t.Errorf("another identity: verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateNotTrusted, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "another identity", evidenceOf(t, res, 0))
	if msg := condition(t, res.Signatures[0], ConditionTrusted).Message; !strings.Contains(msg, "authenticity") {
		t.Errorf("another identity: message %s", msg)
	}

	stranger, err := refsigtest.NewNotationSigner("Release Signer", "regimport fixtures")
	if err != nil {
		t.Fatal(err)
	}
	otherCA := notationCLIVerifier(t, notationCLIPolicy([]string{"*"}, nil), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: stranger.Root.Raw}))
	res = verify(t, otherCA, notationCLIRef, f.manifest, f.digest, notationSig(jws))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateNotTrusted, corev1.ConditionUnknown)
}

// The expiring signer's certificate expired seconds after the CLI signed
// with it, and the signature carries no timestamp: rejected under strict as
// CertificateExpired, trusted once the policy only logs authenticTimestamp.
// Guards notation-go's authentic-timestamp check (verifyAuthenticTimestamp)
// and notationFailure's reading of it.
func TestNotationCLIExpiredCertificate(t *testing.T) {
	f := loadNotationCLIFixture(t)
	if !f.notAfter.Before(time.Now()) {
		t.Fatalf("the expiring certificate is valid until %v", f.notAfter)
	}
	env := notationCLISignature(t, f, "expired", NotationJWSMediaType)
	strict := notationCLIVerifier(t, notationCLIPolicy([]string{"*"}, nil), f.root)
	res := verify(t, strict, notationCLIRef, f.manifest, f.digest, notationSig(env))
	if res.Verdict != VerdictRejected {
		t.Errorf("strict: verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCertificateExpired, corev1.ConditionUnknown)
	assertNoSignerEvidence(t, "expired", evidenceOf(t, res, 0))

	lenient := notationCLIVerifier(t, notationCLIPolicy([]string{"*"}, map[string]any{"level": "strict", "override": map[string]any{"authenticTimestamp": "log"}}), f.root)
	res = verify(t, lenient, notationCLIRef, f.manifest, f.digest, notationSig(env))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("authenticTimestamp logged only: verdict %s (%s)", res.Verdict, res.Reason)
	}
	if e := evidenceOf(t, res, 0); e.CertificateSubject != "Expiring Signer" || !e.CertificateNotAfter.Equal(f.notAfter) || !e.SigningTime.Before(f.notAfter) {
		t.Errorf("evidence %+v, the certificate valid until %v", e, f.notAfter)
	}
}

// Tampered copies of the CLI's envelopes: the JWS payload rewritten to name
// another manifest (and checked against that one), and a COSE envelope with
// one bit of its signature flipped. Both fail notation's integrity check
// (the envelope signature over the payload), which no trust policy can
// skip; the genuine JWS checked against another manifest is told apart as a
// signature for another manifest. Guards notation-go's verifyIntegrity: with
// the envelope read without its signature checked, both tampered copies are
// trusted.
func TestNotationCLITamperedEnvelopes(t *testing.T) {
	f := loadNotationCLIFixture(t)
	v := notationCLIVerifier(t, readNotationFile(t, "trustpolicy.json"), f.root)
	jws := notationCLISignature(t, f, "jws", NotationJWSMediaType)
	cose := notationCLISignature(t, f, "cose", NotationCOSEMediaType)
	other, otherDigest := testManifest("not the notation fixture image")

	var doc map[string]any
	if err := json.Unmarshal(jws, &doc); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(doc["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	rewritten := strings.ReplaceAll(strings.ReplaceAll(string(payload), f.digest.String(), otherDigest.String()),
		`"size":`+itoa(len(f.manifest)), `"size":`+itoa(len(other)))
	if !strings.Contains(rewritten, otherDigest.String()) || !strings.Contains(rewritten, `"size":`+itoa(len(other))) {
		t.Fatalf("the payload does not name the fixture manifest: %s", payload)
	}
	doc["payload"] = base64.RawURLEncoding.EncodeToString([]byte(rewritten))
	rewrittenJWS, _ := json.Marshal(doc)

	// A COSE_Sign1 ends with its signature (a byte string, the last field).
	flipped := bytes.Clone(cose)
	flipped[len(flipped)-8] ^= 0x01

	for _, c := range []struct {
		name     string
		m        []byte
		d        digest.Digest
		env      []byte
		reason   string
		forImage corev1.ConditionStatus
	}{
		{"JWS payload rewritten to another manifest", other, otherDigest, rewrittenJWS, ReasonCorruptSignature, corev1.ConditionUnknown},
		{"COSE signature bit flipped", f.manifest, f.digest, flipped, ReasonCorruptSignature, corev1.ConditionUnknown},
		{"genuine JWS, for another manifest", other, otherDigest, jws, ReasonDigestMismatch, corev1.ConditionFalse},
	} {
		res := verify(t, v, notationCLIRef, c.m, c.d, notationSig(c.env))
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", c.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, c.reason, c.forImage)
		assertNoSignerEvidence(t, c.name, evidenceOf(t, res, 0))
		t.Logf("%s: %s", c.name, condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}
