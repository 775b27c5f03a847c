package signatures

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	corev1 "k8s.io/api/core/v1"
)

const gpgPolicy = `{"default":[{"type":"reject"}],"transports":{"docker":{
  "registry.example.com/ns":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/release.gpg"}]}}}`

// gpgKeys: a release key (trusted by gpgPolicy for registry.example.com/ns) and a
// stranger's key, both written next to the policy.
type gpgKeys struct {
	release, stranger *openpgp.Entity
}

func newGPGFixture(t *testing.T, policy string, armored bool) (*Verifier, *gpgKeys) {
	t.Helper()
	dir := t.TempDir()
	keys := &gpgKeys{release: gpgKey(t, "Release Team", "release@example.com"), stranger: gpgKey(t, "Stranger", "stranger@example.com")}
	writeGPGPublicKey(t, dir, "release.gpg", keys.release, armored)
	writeGPGPublicKey(t, dir, "stranger.gpg", keys.stranger, armored)
	return newTestVerifier(t, writePolicy(t, dir, policy)), keys
}

func TestVerifySimpleSigningValid(t *testing.T) {
	for _, armored := range []bool{false, true} {
		v, keys := newGPGFixture(t, gpgPolicy, armored)
		m, d := testManifest("valid-gpg")
		sig := signSimple(t, keys.release, "registry.example.com/ns/app:v1", d)
		res := verify(t, v, "registry.example.com/ns/app:v1", m, d, sig)
		if res.Verdict != VerdictAccepted || res.Reason != "" {
			t.Fatalf("armored=%v: verdict %s %q", armored, res.Verdict, res.Reason)
		}
		rec := res.Signatures[0]
		assertTrusted(t, rec, "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
		if rec.Name != d.String()+"@"+sig.Name || rec.Type != TypeAtomic || !bytes.Equal(rec.Content, sig.Content) {
			t.Errorf("record name %q type %q content %d bytes", rec.Name, rec.Type, len(rec.Content))
		}
		if rec.SignedClaims[ClaimType] != "atomic container signature" {
			t.Errorf("claims type %q", rec.SignedClaims[ClaimType])
		}
		if rec.IssuedTo.CommonName != "Release Team <release@example.com>" || rec.IssuedBy != nil {
			t.Errorf("issuedTo %+v issuedBy %+v", rec.IssuedTo, rec.IssuedBy)
		}
	}
}

func TestVerifySimpleSigningUnknownKey(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("wrong-key")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signSimple(t, keys.stranger, "registry.example.com/ns/app:v1", d))
	if res.Verdict != VerdictRejected || res.Reason == "" {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonUnknownKey, corev1.ConditionUnknown)
}

func TestVerifySimpleSigningIdentityNotAccepted(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("wrong-identity")
	// matchRepoDigestOrExact (the default) with a tag: the signed tag must be the same.
	for _, identity := range []string{"registry.example.com/ns/app:v2", "registry.example.com/ns/other:v1"} {
		res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signSimple(t, keys.release, identity, d))
		if res.Verdict != VerdictRejected || !strings.Contains(res.Reason, identity) {
			t.Errorf("%s: verdict %s %q", identity, res.Verdict, res.Reason)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonIdentityNotAccepted, corev1.ConditionFalse)
	}
}

func TestVerifySimpleSigningDigestMismatch(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("this-one")
	_, other := testManifest("another-one")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signSimple(t, keys.release, "registry.example.com/ns/app:v1", other))
	if res.Verdict != VerdictRejected {
		t.Fatalf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonDigestMismatch, corev1.ConditionFalse)
	if msg := condition(t, res.Signatures[0], ConditionTrusted).Message; !strings.Contains(msg, other.String()) {
		t.Errorf("message %q does not name the signed digest", msg)
	}
}

func TestVerifySimpleSigningCorruptAndTampered(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("corrupt")
	good := signSimple(t, keys.release, "registry.example.com/ns/app:v1", d)

	tampered := bytes.Clone(good.Content)
	i := bytes.Index(tampered, []byte("ns/app:v1"))
	tampered[i] = 'N' // same length, other identity: the signature no longer matches
	cases := []struct {
		name    string
		content []byte
		reason  string
	}{
		{"not-openpgp", []byte("this is not a signature"), ReasonCorruptSignature},
		{"empty", nil, ReasonCorruptSignature},
		{"truncated", good.Content[:len(good.Content)/2], ReasonCorruptSignature},
		{"tampered-payload", tampered, ReasonInvalidSignature},
	}
	for _, tc := range cases {
		res := verify(t, v, "registry.example.com/ns/app:v1", m, d, Signature{Type: TypeAtomic, Content: tc.content})
		if res.Verdict != VerdictRejected {
			t.Errorf("%s: verdict %s", tc.name, res.Verdict)
		}
		assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, tc.reason, corev1.ConditionUnknown)
	}
	// One good signature among bad ones is enough for the image, and each keeps its own result.
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, Signature{Type: TypeAtomic, Content: []byte("junk")}, good)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonCorruptSignature, corev1.ConditionUnknown)
	assertTrusted(t, res.Signatures[1], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
}

func TestVerifyUnsignedUnderSignedByPolicy(t *testing.T) {
	v, _ := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("unsigned")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d)
	if res.Verdict != VerdictRejected || !strings.Contains(res.Reason, "signature was required") {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
}

func TestVerifyOutsideTheSignedScopeUsesDefaultReject(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("other-registry")
	res := verify(t, v, "other.example.com/ns/app:v1", m, d, signSimple(t, keys.release, "other.example.com/ns/app:v1", d))
	if res.Verdict != VerdictRejected || !strings.Contains(res.Reason, "rejected by policy") {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonRejectedByPolicy, corev1.ConditionUnknown)
}

func TestVerifyInsecureAcceptAnything(t *testing.T) {
	v, keys := newGPGFixture(t, `{"default":[{"type":"insecureAcceptAnything"}]}`, false)
	m, d := testManifest("accept-anything")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signSimple(t, keys.release, "registry.example.com/ns/app:v1", d))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	// Accepted image, but no key vouches for the signature.
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonNoPolicyRequirement, corev1.ConditionUnknown)
	if res := verify(t, v, "registry.example.com/ns/app:v1", m, d); res.Verdict != VerdictAccepted {
		t.Fatalf("unsigned: verdict %s", res.Verdict)
	}
}

func TestVerifyNoPolicy(t *testing.T) {
	v := newTestVerifier(t, "")
	keys := gpgKey(t, "Release Team", "release@example.com")
	m, d := testManifest("no-policy")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signSimple(t, keys, "registry.example.com/ns/app:v1", d))
	if res.Verdict != VerdictNoPolicy || res.Reason == "" {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionUnknown, ReasonNoPolicy, corev1.ConditionUnknown)
}

func TestVerifyRemapIdentity(t *testing.T) {
	// Images are imported from a mirror but signed under their upstream name.
	policy := `{"default":[{"type":"reject"}],"transports":{"docker":{"mirror.example.com/ns":[
	  {"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/release.gpg",
	   "signedIdentity":{"type":"remapIdentity","prefix":"mirror.example.com/ns","signedPrefix":"registry.example.com/ns"}}]}}}`
	v, keys := newGPGFixture(t, policy, false)
	m, d := testManifest("remap")
	res := verify(t, v, "mirror.example.com/ns/app:v1", m, d, signSimple(t, keys.release, "registry.example.com/ns/app:v1", d))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))

	// A signature for the mirror's own name does not map to upstream: rejected.
	res = verify(t, v, "mirror.example.com/ns/app:v1", m, d, signSimple(t, keys.release, "mirror.example.com/ns/app:v1", d))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonIdentityNotAccepted, corev1.ConditionFalse)
}

func TestVerifyExactReferenceAndByDigestImport(t *testing.T) {
	policy := `{"default":[{"type":"reject"}],"transports":{"docker":{
	  "registry.example.com/ns/app":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/release.gpg"}],
	  "registry.example.com/ns/pinned":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/release.gpg",
	     "signedIdentity":{"type":"exactReference","dockerReference":"registry.example.com/ns/pinned:stable"}}]}}}`
	v, keys := newGPGFixture(t, policy, false)
	m, d := testManifest("by-digest")
	// Imported by digest (name only here): matchRepoDigestOrExact accepts any tag of the repository.
	res := verify(t, v, "registry.example.com/ns/app", m, d, signSimple(t, keys.release, "registry.example.com/ns/app:v1", d))
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))

	res = verify(t, v, "registry.example.com/ns/pinned:v9", m, d, signSimple(t, keys.release, "registry.example.com/ns/pinned:stable", d))
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/pinned:stable", d, gpgFingerprint(keys.release))
	res = verify(t, v, "registry.example.com/ns/pinned:v9", m, d, signSimple(t, keys.release, "registry.example.com/ns/pinned:v9", d))
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonIdentityNotAccepted, corev1.ConditionFalse)
}

func TestVerifyTwoKeysEitherTrusted(t *testing.T) {
	policy := `{"default":[{"type":"signedBy","keyType":"GPGKeys","keyPaths":["{{DIR}}/release.gpg","{{DIR}}/stranger.gpg"]}]}`
	v, keys := newGPGFixture(t, policy, true)
	m, d := testManifest("two-keys")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d,
		signSimple(t, keys.release, "registry.example.com/ns/app:v1", d),
		signSimple(t, keys.stranger, "registry.example.com/ns/app:v1", d))
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
	assertTrusted(t, res.Signatures[1], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.stranger))
}

func TestVerifyCapsAndTypes(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("caps")
	good := signSimple(t, keys.release, "registry.example.com/ns/app:v1", d)

	sigs := []Signature{good}
	for len(sigs) < MaxSignatures+2 {
		sigs = append(sigs, Signature{Type: TypeAtomic, Content: []byte{byte(len(sigs))}})
	}
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, sigs...)
	if res.Verdict != VerdictAccepted {
		t.Fatalf("verdict %s %q", res.Verdict, res.Reason)
	}
	assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
	assertNotTrusted(t, res.Signatures[MaxSignatures-1], corev1.ConditionFalse, ReasonCorruptSignature, corev1.ConditionUnknown)
	for _, rec := range res.Signatures[MaxSignatures:] {
		assertNotTrusted(t, rec, corev1.ConditionUnknown, ReasonTooManySignatures, corev1.ConditionUnknown)
	}

	oversized := Signature{Type: TypeAtomic, Content: bytes.Repeat([]byte{0xC4}, MaxSignatureSize+1)}
	unknownType := Signature{Type: "x509", Content: []byte("whatever")}
	res = verify(t, v, "registry.example.com/ns/app:v1", m, d, oversized, unknownType, Signature{Type: TypeSimple, Content: good.Content})
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonTooLarge, corev1.ConditionUnknown)
	assertNotTrusted(t, res.Signatures[1], corev1.ConditionFalse, ReasonUnsupportedType, corev1.ConditionUnknown)
	assertTrusted(t, res.Signatures[2], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
	if res.Signatures[2].Type != TypeAtomic || res.Signatures[2].Name != d.String()+"@"+good.Name {
		t.Errorf("a %q signature is recorded as %q named %q", TypeSimple, res.Signatures[2].Type, res.Signatures[2].Name)
	}
}

func TestVerifyCallErrors(t *testing.T) {
	v, _ := newGPGFixture(t, gpgPolicy, false)
	m, d := testManifest("errors")
	ref := mustRef(t, "registry.example.com/ns/app:v1")
	_, other := testManifest("other")
	if _, err := v.Verify(context.Background(), Image{Reference: ref, Manifest: m, ManifestDigest: other}, nil); err == nil {
		t.Error("manifest not matching its digest: no error")
	}
	if _, err := v.Verify(context.Background(), Image{Manifest: m, ManifestDigest: d}, nil); err == nil {
		t.Error("nil reference: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.Verify(ctx, Image{Reference: ref, Manifest: m, ManifestDigest: d}, nil); err == nil {
		t.Error("cancelled context: no error")
	}
}

func TestVerifyConcurrentUse(t *testing.T) {
	v, keys := newGPGFixture(t, gpgPolicy, false)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, d := testManifest("concurrent" + string(rune('a'+i)))
			sig := signSimple(t, keys.release, "registry.example.com/ns/app:v1", d)
			bad := signSimple(t, keys.stranger, "registry.example.com/ns/app:v1", d)
			res := verify(t, v, "registry.example.com/ns/app:v1", m, d, sig, bad)
			if res.Verdict != VerdictAccepted {
				t.Errorf("verdict %s %q", res.Verdict, res.Reason)
			}
			assertTrusted(t, res.Signatures[0], "registry.example.com/ns/app:v1", d, gpgFingerprint(keys.release))
			assertNotTrusted(t, res.Signatures[1], corev1.ConditionFalse, ReasonUnknownKey, corev1.ConditionUnknown)
		}()
	}
	wg.Wait()
}

func TestVerifySimpleSigningExpiredKey(t *testing.T) {
	dir := t.TempDir()
	// Valid from an hour before the signature to an hour after it: long expired now.
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, KeyLifetimeSecs: 7200,
		Time: func() time.Time { return testSignAt.Add(-time.Hour) }}
	key, err := openpgp.NewEntity("Short Lived", "", "short@example.com", cfg)
	if err != nil {
		t.Fatal(err)
	}
	writeGPGPublicKey(t, dir, "release.gpg", key, false)
	v := newTestVerifier(t, writePolicy(t, dir, gpgPolicy))
	m, d := testManifest("expired-key")
	res := verify(t, v, "registry.example.com/ns/app:v1", m, d, signSimple(t, key, "registry.example.com/ns/app:v1", d))
	if res.Verdict != VerdictRejected {
		t.Fatalf("verdict %s", res.Verdict)
	}
	assertNotTrusted(t, res.Signatures[0], corev1.ConditionFalse, ReasonKeyExpired, corev1.ConditionUnknown)
}
