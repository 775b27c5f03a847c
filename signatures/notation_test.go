package signatures

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/internal/refsigtest"
	corev1 "k8s.io/api/core/v1"
)

func notationVerifierFor(t *testing.T, n *refsigtest.NotationSigner, scopes ...string) *Verifier {
	t.Helper()
	dir := t.TempDir()
	store := dir + "/truststore"
	if err := n.WriteTrustStore(store, "release"); err != nil {
		t.Fatal(err)
	}
	policy := writeFile(t, dir, "trustpolicy.json", refsigtest.TrustPolicy("release", scopes...))
	v, err := NewVerifier(Options{NotationTrustPolicy: policy, NotationTrustStore: store, Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Notation signatures, JWS and COSE, made by notation-go's signer, are
// trusted under a notation trust policy and trust store, with no
// containers-policy.json at all; the trust policy's verdict is the image's.
func TestNotationSignatureTrustedUnderTrustPolicy(t *testing.T) {
	ctx := context.Background()
	n, err := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	if err != nil {
		t.Fatal(err)
	}
	v := notationVerifierFor(t, n, "registry.example.com/team/app")
	m, d := testManifest("notation")
	desc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}
	for _, typ := range []string{refsigtest.NotationJWS, refsigtest.NotationCOSE} {
		env, err := n.Sign(ctx, desc, typ)
		if err != nil {
			t.Fatal(err)
		}
		res := verify(t, v, "registry.example.com/team/app:v1", m, d, Signature{Source: SourceReferrers, Type: TypeNotation, Content: env})
		if res.Verdict != VerdictAccepted {
			t.Fatalf("%s: verdict %s (%s); %+v", typ, res.Verdict, res.Reason, res.Signatures[0].Conditions)
		}
		rec := res.Signatures[0]
		if c := condition(t, rec, ConditionTrusted); c.Status != corev1.ConditionTrue {
			t.Fatalf("%s: %s %s", typ, c.Reason, c.Message)
		}
		if rec.IssuedTo == nil || rec.IssuedTo.CommonName != "Release Signer" || rec.IssuedTo.Organization != "Example Corp" ||
			rec.IssuedBy == nil || rec.IssuedBy.CommonName != "Release Signer root" || rec.SignedClaims[ClaimDigest] != d.String() || rec.Created == nil {
			t.Errorf("%s: issuedTo %+v issuedBy %+v claims %v created %v", typ, rec.IssuedTo, rec.IssuedBy, rec.SignedClaims, rec.Created)
		}
	}
	// In scope, with no trusted notation signature: rejected.
	if res := verify(t, v, "registry.example.com/team/app:v1", m, d); res.Verdict != VerdictRejected {
		t.Errorf("unsigned image in scope: %s", res.Verdict)
	}
}

func TestNotationRejections(t *testing.T) {
	ctx := context.Background()
	n, _ := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	stranger, _ := refsigtest.NewNotationSigner("Someone Else", "Elsewhere")
	v := notationVerifierFor(t, n, "registry.example.com/team/app")
	m, d := testManifest("notation")
	desc := imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}
	good, _ := n.Sign(ctx, desc, refsigtest.NotationJWS)
	byStranger, _ := stranger.Sign(ctx, desc, refsigtest.NotationJWS)
	om, od := testManifest("another")
	forOther, _ := n.Sign(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: od, Size: int64(len(om))}, refsigtest.NotationCOSE)
	for _, c := range []struct {
		name, ref string
		env       []byte
		reason    string
		forImage  corev1.ConditionStatus
	}{
		{"outside the trust policy's scope", "registry.example.com/other/app:v1", good, ReasonOutsideTrustPolicy, corev1.ConditionUnknown},
		{"by a CA outside the trust store", "registry.example.com/team/app:v1", byStranger, ReasonCertificateNotTrusted, corev1.ConditionUnknown},
		{"for another manifest", "registry.example.com/team/app:v1", forOther, ReasonDigestMismatch, corev1.ConditionFalse},
		{"not an envelope", "registry.example.com/team/app:v1", []byte(`{"payload":"x"}`), ReasonCorruptSignature, corev1.ConditionUnknown},
	} {
		res := verify(t, v, c.ref, m, d, Signature{Source: SourceReferrers, Type: TypeNotation, Content: c.env})
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, c.reason, c.forImage)
		wantVerdict := VerdictRejected
		if c.reason == ReasonOutsideTrustPolicy { // no statement covers it: the trust policy has no say
			wantVerdict = VerdictNoPolicy
		}
		if res.Verdict != wantVerdict {
			t.Errorf("%s: verdict %s, want %s", c.name, res.Verdict, wantVerdict)
		}
		t.Logf("%s: verdict %s: %s", c.name, res.Verdict, condition(t, res.Signatures[0], ConditionTrusted).Message)
	}
}

// Verdicts combine: with both a containers policy and a notation trust
// policy, an image in the trust policy's scope needs a trusted notation
// signature besides what containers-policy.json requires; an image the
// containers policy accepts is rejected for want of one, and accepted with
// one. A cosign bundle and a notation signature on one image each get their
// own record.
func TestVerdictsCombineAcrossKinds(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	n, _ := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	key, _ := refsigtest.NewKey()
	store := dir + "/truststore"
	if err := n.WriteTrustStore(store, "release"); err != nil {
		t.Fatal(err)
	}
	trust := writeFile(t, dir, "trustpolicy.json", refsigtest.TrustPolicy("release", "registry.example.com/team/app"))
	v, err := NewVerifier(Options{PolicyPath: keyPolicy(t, dir, key.PEM), NotationTrustPolicy: trust, NotationTrustStore: store,
		Now: func() time.Time { return testNow }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m, d := testManifest("both")
	bundle, _ := key.SignDSSE(refsigtest.Statement("registry.example.com/team/app", d, refsigtest.CosignSignPredicate, nil))
	env, _ := n.Sign(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}, refsigtest.NotationCOSE)
	cosignOnly := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(bundle))
	if cosignOnly.Verdict != VerdictRejected || !strings.Contains(cosignOnly.Reason, "notation") {
		t.Fatalf("cosign only: %s (%s), want rejected for want of a notation signature", cosignOnly.Verdict, cosignOnly.Reason)
	}
	both := verify(t, v, "registry.example.com/team/app:v1", m, d, bundleSig(bundle), Signature{Source: SourceReferrers, Type: TypeNotation, Content: env})
	if both.Verdict != VerdictAccepted {
		t.Fatalf("both: %s (%s)", both.Verdict, both.Reason)
	}
	for _, rec := range both.Signatures {
		if condition(t, rec, ConditionTrusted).Status != corev1.ConditionTrue {
			t.Errorf("%s: %+v", rec.Type, rec.Conditions)
		}
	}
	notationOnly := verify(t, v, "registry.example.com/team/app:v1", m, d, Signature{Source: SourceReferrers, Type: TypeNotation, Content: env})
	if notationOnly.Verdict != VerdictRejected {
		t.Fatalf("notation only: %s, want rejected by containers-policy.json's sigstoreSigned", notationOnly.Verdict)
	}
}

// Notation verification makes no network request: a certificate naming an
// OCSP responder and a CRL distribution point gets an unknown revocation
// result (not trusted under strict), and is trusted once the trust policy
// skips revocation; the responder is never asked.
func TestNotationRevocationStaysOffline(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer srv.Close()
	ctx := context.Background()
	n, err := refsigtest.NewNotationSignerWithRevocation("Release Signer", "Example Corp", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	m, d := testManifest("revocation")
	env, err := n.Sign(ctx, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest, Digest: d, Size: int64(len(m))}, refsigtest.NotationJWS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		verification map[string]any
		trusted      corev1.ConditionStatus
	}{
		{map[string]any{"level": "strict"}, corev1.ConditionFalse},
		{map[string]any{"level": "strict", "override": map[string]any{"revocation": "skip"}}, corev1.ConditionTrue},
	} {
		dir := t.TempDir()
		if err := n.WriteTrustStore(dir+"/store", "release"); err != nil {
			t.Fatal(err)
		}
		policy := writeFile(t, dir, "trustpolicy.json", refsigtest.TrustPolicyWith("release", c.verification, "registry.example.com/team/app"))
		v, err := NewVerifier(Options{NotationTrustPolicy: policy, NotationTrustStore: dir + "/store", Now: func() time.Time { return testNow }})
		if err != nil {
			t.Fatal(err)
		}
		res := verify(t, v, "registry.example.com/team/app:v1", m, d, Signature{Source: SourceReferrers, Type: TypeNotation, Content: env})
		if got := condition(t, res.Signatures[0], ConditionTrusted); got.Status != c.trusted {
			t.Errorf("%v: Trusted %s/%s (%s), want %s", c.verification, got.Status, got.Reason, got.Message, c.trusted)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("%d requests reached the revocation server", hits.Load())
	}
}
