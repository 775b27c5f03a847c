package signatures

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/opencontainers/go-digest"
	"go.podman.io/image/v5/image"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
	corev1 "k8s.io/api/core/v1"
)

// TestFastPathAgreesWithPolicyContext compares Verify's verdicts, and each
// signature's Trusted condition, with containers/image's own PolicyContext
// over policies, references and signatures that accept and reject for every
// reason the fast path (fastpath.go) has to get right: wrong key, expired
// key, tampered, another manifest, every signedIdentity rule. It also checks
// that the fast path really decided the acceptances it can prove, so that
// the comparison covers it.
func TestFastPathAgreesWithPolicyContext(t *testing.T) {
	dir := t.TempDir()
	release, stranger := gpgKey(t, "Release Team", "release@example.com"), gpgKey(t, "Stranger", "stranger@example.com")
	expiredCfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, KeyLifetimeSecs: 7200,
		Time: func() time.Time { return testSignAt.Add(-time.Hour) }}
	expired, err := openpgp.NewEntity("Short Lived", "", "short@example.com", expiredCfg)
	if err != nil {
		t.Fatal(err)
	}
	writeGPGPublicKey(t, dir, "release.gpg", release, false)
	writeGPGPublicKey(t, dir, "release.asc", release, true)
	writeGPGPublicKey(t, dir, "stranger.gpg", stranger, false)
	writeGPGPublicKey(t, dir, "expired.gpg", expired, false)

	signedBy := func(key, identity string) string {
		r := fmt.Sprintf(`{"type":"signedBy","keyType":"GPGKeys","keyPath":"{{DIR}}/%s"`, key)
		if identity != "" {
			r += `,"signedIdentity":` + identity
		}
		return r + "}"
	}
	policies := []struct {
		name string
		reqs string // the requirements of scope registry.example.com/ns
		fast bool   // the fast path can prove its acceptances
	}{
		{"default identity", signedBy("release.gpg", ""), true},
		{"armored key", signedBy("release.asc", ""), true},
		{"matchExact", signedBy("release.gpg", `{"type":"matchExact"}`), true},
		{"matchRepoDigestOrExact", signedBy("release.gpg", `{"type":"matchRepoDigestOrExact"}`), true},
		{"matchRepository", signedBy("release.gpg", `{"type":"matchRepository"}`), true},
		{"exactReference", signedBy("release.gpg", `{"type":"exactReference","dockerReference":"registry.example.com/ns/pinned:stable"}`), true},
		{"exactRepository", signedBy("release.gpg", `{"type":"exactRepository","dockerRepository":"registry.example.com/other/app"}`), true},
		{"remapIdentity", signedBy("release.gpg", `{"type":"remapIdentity","prefix":"registry.example.com/ns","signedPrefix":"upstream.example.com/ns"}`), false},
		{"expired key", signedBy("expired.gpg", ""), true},
		{"two keys, one requirement", `{"type":"signedBy","keyType":"GPGKeys","keyPaths":["{{DIR}}/release.gpg","{{DIR}}/stranger.gpg"]}`, false},
		{"both keys required", signedBy("release.gpg", "") + "," + signedBy("stranger.gpg", ""), true},
		{"accept anything and signed", `{"type":"insecureAcceptAnything"},` + signedBy("release.gpg", ""), true},
		{"signed then reject", signedBy("release.gpg", "") + `,{"type":"reject"}`, false},
	}

	m, d := testManifest("fast-path")
	_, otherDigest := testManifest("another manifest")
	tampered := signSimple(t, release, "registry.example.com/ns/app:v1", d)
	tampered.Content = append([]byte(nil), tampered.Content...)
	tampered.Content[len(tampered.Content)/2] ^= 0x40
	sig := func(e *openpgp.Entity, identity string) Signature { return signSimple(t, e, identity, d) }
	sets := map[string][]Signature{
		"none":                 nil,
		"exact":                {sig(release, "registry.example.com/ns/app:v1")},
		"other tag":            {sig(release, "registry.example.com/ns/app:v2")},
		"other repository":     {sig(release, "registry.example.com/ns/other:v1")},
		"name only":            {sig(release, "registry.example.com/ns/app")},
		"pinned":               {sig(release, "registry.example.com/ns/pinned:stable")},
		"exact repository":     {sig(release, "registry.example.com/other/app:v9")},
		"upstream":             {sig(release, "upstream.example.com/ns/app:v1")},
		"normalized":           {sig(release, "registry.example.com/ns/app:v1@"+d.String())},
		"stranger":             {sig(stranger, "registry.example.com/ns/app:v1")},
		"expired key":          {sig(expired, "registry.example.com/ns/app:v1")},
		"another manifest":     {signSimple(t, release, "registry.example.com/ns/app:v1", otherDigest)},
		"tampered":             {tampered},
		"stranger and release": {sig(stranger, "registry.example.com/ns/app:v1"), sig(release, "registry.example.com/ns/app:v1")},
		"bad then good":        {tampered, sig(release, "registry.example.com/ns/app:v1")},
		"not OpenPGP":          {{Source: SourceLookaside, Type: TypeAtomic, Content: []byte("not a signature"), Name: "junk"}},
	}
	refs := []string{
		"registry.example.com/ns/app:v1",
		"registry.example.com/ns/app:v2",
		"registry.example.com/ns/app@" + d.String(),
		"registry.example.com/ns/app",
		"registry.example.com/ns/pinned:v9",
		"registry.example.com/elsewhere/app:v1", // outside the scope: default reject
	}

	var accepted, rejected, fastAccepted int
	for _, p := range policies {
		policyPath := writePolicy(t, t.TempDir(), strings.ReplaceAll(
			`{"default":[{"type":"reject"}],"transports":{"docker":{"registry.example.com/ns":[`+p.reqs+`]}}}`, "{{DIR}}", dir))
		v := newTestVerifier(t, policyPath)
		lib, err := signature.NewPolicyFromFile(policyPath)
		if err != nil {
			t.Fatal(err)
		}
		for setName, sigs := range sets {
			for _, refText := range refs {
				name := fmt.Sprintf("%s / %s / %s", p.name, setName, refText)
				before := v.policyContexts.Load()
				res := verify(t, v, refText, m, d, sigs...)
				contexts := v.policyContexts.Load() - before

				ref, err := policyReference(mustRef(t, refText), d)
				if err != nil {
					t.Fatal(err)
				}
				want := libAllows(t, lib, ref, m, d, sigs)
				if got := res.Verdict == VerdictAccepted; got != want {
					t.Errorf("%s: verdict %s (%s), containers/image allows: %v", name, res.Verdict, res.Reason, want)
				}
				if want {
					accepted++
				} else {
					rejected++
				}
				if want && p.fast && len(sigs) > 0 {
					if contexts != 0 {
						t.Errorf("%s: accepted with %d PolicyContext evaluations, want none (fast path)", name, contexts)
					}
					fastAccepted++
				}

				// Each signature: trusted when a signedBy requirement in scope
				// accepts it alone, in containers/image's evaluation, and no
				// requirement in scope is reject.
				inScope := scope(v.policy, ref)
				for i, s := range sigs {
					trusted := false
					for _, r := range inScope {
						if v.reqs[r].kind == kindReject {
							trusted = false
							break
						}
						if v.reqs[r].kind == kindSignedBy && libAllows(t, &signature.Policy{Default: signature.PolicyRequirements{r}}, ref, m, d, []Signature{s}) {
							trusted = true
						}
					}
					got := condition(t, res.Signatures[i], ConditionTrusted).Status == corev1.ConditionTrue
					if got != trusted {
						t.Errorf("%s: signature %d trusted %v, containers/image: %v (%s)", name, i+1, got, trusted, condition(t, res.Signatures[i], ConditionTrusted).Message)
					}
				}
			}
		}
	}
	t.Logf("%d accepted, %d rejected, %d by the fast path", accepted, rejected, fastAccepted)
	if accepted < 40 || rejected < 100 || fastAccepted < 30 {
		t.Errorf("the cases should cover both verdicts and the fast path: %d accepted, %d rejected, %d by the fast path", accepted, rejected, fastAccepted)
	}
}

// libAllows is containers/image's verdict for the image carrying sigs,
// through its PolicyContext alone.
func libAllows(t *testing.T, policy *signature.Policy, ref types.ImageReference, m []byte, d digest.Digest, sigs []Signature) bool {
	t.Helper()
	blobs := make([][]byte, len(sigs))
	for i, s := range sigs {
		blobs[i] = s.Content
	}
	src := &memSource{ref: ref, manifest: m, mimeType: manifestMIMEType(m), digest: d, signatures: blobs}
	pc, err := signature.NewPolicyContext(policy)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Destroy() }()
	ok, _ := pc.IsRunningImageAllowed(context.Background(), image.UnparsedInstance(src, &d))
	return ok
}

// TestVerifiedSimpleClaimsMatchCheckSimple: the one-verification path of a
// good signature reports the same signer, time and claims as the step-by-step
// path, armored key or not, and declines what the step-by-step path rejects.
func TestVerifiedSimpleClaimsMatchCheckSimple(t *testing.T) {
	for _, armored := range []bool{false, true} {
		v, keys := newGPGFixture(t, gpgPolicy, armored)
		var r *requirement
		for _, req := range v.reqs {
			if req.kind == kindSignedBy {
				r = req
			}
		}
		m, d := testManifest("claims")
		_, other := testManifest("other")
		good := signSimple(t, keys.release, "registry.example.com/ns/app:v1", d)
		info, err := signature.GetUntrustedSignatureInformationWithoutVerifying(good.Content)
		if err != nil {
			t.Fatal(err)
		}
		fast, ok := verifiedSimple(r, good, m)
		if !ok {
			t.Fatalf("armored=%v: a good signature is not verified", armored)
		}
		slow := checkSimple(r, good, m, info)
		if fast.stage != slow.stage || fast.claims == nil || slow.claims == nil || !reflect.DeepEqual(*fast.claims, *slow.claims) {
			t.Errorf("armored=%v: one verification %+v %+v, step by step %+v %+v", armored, fast, fast.claims, slow, slow.claims)
		}
		if !fast.claims.created.Equal(testSignAt) || fast.claims.issuedTo.PublicKeyID != gpgFingerprint(keys.release) {
			t.Errorf("armored=%v: claims %+v", armored, fast.claims)
		}
		for name, bad := range map[string]Signature{
			"stranger":         signSimple(t, keys.stranger, "registry.example.com/ns/app:v1", d),
			"another manifest": signSimple(t, keys.release, "registry.example.com/ns/app:v1", other),
		} {
			if _, ok := verifiedSimple(r, bad, m); ok {
				t.Errorf("armored=%v: %s accepted by the one-verification path", armored, name)
			}
		}
	}
}
