package signatures

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/refsigtest"
)

// notationTSAVerifier is a verifier for a trust policy trusting signer's
// root CA, with trust stores tsa:stamps holding tsa's root when tsa is not
// nil (the statement names it then).
func notationTSAVerifier(t *testing.T, verification map[string]any, signer *refsigtest.NotationSigner, tsa *refsigtest.TSA) *Verifier {
	t.Helper()
	dir := t.TempDir()
	store := filepath.Join(dir, "truststore")
	caDir := filepath.Join(store, "x509", "ca", "release")
	if err := os.MkdirAll(caDir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, caDir, "root.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signer.Root.Raw}))
	stores := []string{"ca:release"}
	if tsa != nil {
		if err := tsa.WriteTrustStore(store, "stamps"); err != nil {
			t.Fatal(err)
		}
		stores = append(stores, "tsa:stamps")
	}
	doc, _ := json.Marshal(map[string]any{"version": "1.0", "trustPolicies": []any{map[string]any{
		"name": "regimport-test", "registryScopes": []string{"registry.example.com/team/app"}, "signatureVerification": verification,
		"trustStores": stores, "trustedIdentities": []string{"*"}}}})
	policy := writeFile(t, dir, "trustpolicy.json", doc)
	v, err := NewVerifier(Options{NotationTrustPolicy: policy, NotationTrustStore: store, Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A notation signature with an RFC 3161 timestamp countersignature: when
// the trust policy names a tsa trust store holding the authority's root,
// notation-go verifies the countersignature and the evidence records the
// stamped time as verified (rfc3161); without a tsa trust store, with
// verifyTimestamp afterCertExpiry while the certificate is valid, or with
// the check only logged, notation-go does not verify it, and the time stays
// notation's unverified signing time.
func TestNotationTimestampCountersignature(t *testing.T) {
	ctx := context.Background()
	signer, err := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	if err != nil {
		t.Fatal(err)
	}
	tsa, err := refsigtest.NewTSA()
	if err != nil {
		t.Fatal(err)
	}
	tsa.At = time.Now().Add(-30 * time.Minute).Truncate(time.Second).UTC()
	other, err := refsigtest.NewTSA()
	if err != nil {
		t.Fatal(err)
	}
	m, d := testManifest("notation-timestamp")
	env, err := signer.SignTimestamped(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}, refsigtest.NotationCOSE, tsa)
	if err != nil {
		t.Fatal(err)
	}
	strict := map[string]any{"level": "strict"}

	res := verify(t, notationTSAVerifier(t, strict, signer, tsa), "registry.example.com/team/app:v1", m, d, notationSig(env))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("timestamped under a tsa trust store: verdict %s (%s)", res.Verdict, res.Reason)
	}
	if e := evidenceOf(t, res, 0); e.TimeSource != TimeSourceRFC3161 || !e.TimeVerified || !e.SigningTime.Equal(tsa.At) ||
		!e.TimestampPresent || !e.TimestampVerified || e.CertificateSubject != "Release Signer" {
		t.Errorf("verified timestamp: evidence %+v, want rfc3161 at %v, verified", e, tsa.At)
	}

	unverified := func(what string, v *Verifier) {
		t.Helper()
		res := verify(t, v, "registry.example.com/team/app:v1", m, d, notationSig(env))
		if res.Verdict != VerdictAccepted {
			t.Fatalf("%s: verdict %s (%s)", what, res.Verdict, res.Reason)
		}
		if e := evidenceOf(t, res, 0); e.TimeSource != TimeSourceNotationSigningTime || e.TimeVerified || !e.TimestampPresent || e.TimestampVerified ||
			e.SigningTime.Equal(tsa.At) {
			t.Errorf("%s: evidence %+v, want notation's unverified signing time and the timestamp present, unverified", what, e)
		}
	}
	unverified("no tsa trust store", notationTSAVerifier(t, strict, signer, nil))
	unverified("verifyTimestamp afterCertExpiry, certificate valid",
		notationTSAVerifier(t, map[string]any{"level": "strict", "verifyTimestamp": "afterCertExpiry"}, signer, tsa))
	// Another authority's root: the countersignature does not verify;
	// enforced, that rejects the signature; only logged, it is trusted
	// with its time unverified.
	res = verify(t, notationTSAVerifier(t, strict, signer, other), "registry.example.com/team/app:v1", m, d, notationSig(env))
	if res.Verdict != VerdictRejected {
		t.Errorf("another authority's root, enforced: verdict %s", res.Verdict)
	}
	unverified("another authority's root, logged only",
		notationTSAVerifier(t, map[string]any{"level": "strict", "override": map[string]any{"authenticTimestamp": "log"}}, signer, other))
}
