package importer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/types"
)

// signedEnv is a registry with images signed by third-party formats: simple
// signing in a file:// lookaside (what skopeo --sign-by writes) and cosign
// key-based signatures as sigstore attachments.
type signedEnv struct {
	*env
	dir                string
	trusted, untrusted *sigtest.GPGKey
	cosign             *sigtest.CosignKey
	pushed             map[string]testregistry.Pushed
}

func newSignedEnv(t *testing.T) *signedEnv {
	t.Helper()
	ctx := context.Background()
	e := &signedEnv{env: newEnv(t), dir: t.TempDir(), pushed: map[string]testregistry.Pushed{}}
	var err error
	if e.trusted, err = sigtest.NewGPGKey("Release Team", "release@example.com"); err != nil {
		t.Fatal(err)
	}
	if e.untrusted, err = sigtest.NewGPGKey("Mallory", "mallory@example.com"); err != nil {
		t.Fatal(err)
	}
	if e.cosign, err = sigtest.NewCosignKey(); err != nil {
		t.Fatal(err)
	}
	host := e.reg.Host()
	lookaside := filepath.Join(e.dir, "lookaside")
	for i, name := range []string{"app", "other", "unsigned", "wrongid", "multi"} {
		f := testregistry.Schema2
		if name == "multi" {
			f = testregistry.OCIIndex
		}
		e.pushed[name] = e.push(t, testregistry.ImageSpec{Repository: "sig/" + name, Tags: []string{"v1"}, Format: f, Seed: int64(100 + i)})
	}
	sign := func(k *sigtest.GPGKey, repo, identity string, p testregistry.Pushed) {
		blob, err := k.SignSimple(identity, p.Digest)
		if err != nil {
			t.Fatal(err)
		}
		if err := sigtest.WriteLookaside(lookaside, repo, p.Digest, blob); err != nil {
			t.Fatal(err)
		}
	}
	sign(e.trusted, "sig/app", host+"/sig/app:v1", e.pushed["app"])
	sign(e.untrusted, "sig/other", host+"/sig/other:v1", e.pushed["other"])
	sign(e.trusted, "sig/wrongid", host+"/sig/elsewhere:v1", e.pushed["wrongid"])
	multi := e.pushed["multi"]
	sign(e.trusted, "sig/multi", host+"/sig/multi:v1", multi)
	for _, c := range multi.Children { // a list signed per instance, as skopeo copy --all --sign-by does
		sign(e.trusted, "sig/multi", host+"/sig/multi:v1", c)
	}
	// cosign writes docker-reference without the tag.
	payload, sig, err := e.cosign.Sign(host+"/sig/app", e.pushed["app"].Digest)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := signatures.SigstoreAttachmentTag(e.pushed["app"].Digest)
	if err := e.reg.PushRaw(ctx, "sig/app", tag, "application/vnd.oci.image.manifest.v1+json",
		sigtest.AttachmentManifest([][]byte{payload}, []string{sig}), sigtest.AttachmentConfig(), payload); err != nil {
		t.Fatal(err)
	}

	regd := filepath.Join(e.dir, "registries.d")
	os.MkdirAll(regd, 0o755)
	os.WriteFile(filepath.Join(regd, "default.yaml"), []byte(fmt.Sprintf("default-docker:\n  lookaside: file://%s\n  use-sigstore-attachments: true\n", lookaside)), 0o644)
	e.trusted.WritePublicKey(filepath.Join(e.dir, "trusted.gpg"))
	e.untrusted.WritePublicKey(filepath.Join(e.dir, "untrusted.gpg"))
	os.WriteFile(filepath.Join(e.dir, "cosign.pub"), e.cosign.PEM, 0o644)
	return e
}

// policy writes a containers-policy.json; keyFor names the GPG key file that
// sig/other trusts, to show a key change.
func (e *signedEnv) policy(t *testing.T, name, otherKey string) string {
	t.Helper()
	host := e.reg.Host()
	signedBy := func(key string) string {
		return fmt.Sprintf(`{"type":"signedBy","keyType":"GPGKeys","keyPath":%q}`, filepath.Join(e.dir, key))
	}
	p := fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{
		%q: [%s, {"type":"sigstoreSigned","keyPath":%q,"signedIdentity":{"type":"matchRepository"}}],
		%q: [%s], %q: [%s], %q: [%s], %q: [%s]}}}`,
		host+"/sig/app", signedBy("trusted.gpg"), filepath.Join(e.dir, "cosign.pub"),
		host+"/sig/other", signedBy(otherKey),
		host+"/sig/unsigned", signedBy("trusted.gpg"),
		host+"/sig/wrongid", signedBy("trusted.gpg"),
		host+"/sig/multi", signedBy("trusted.gpg"))
	path := filepath.Join(e.dir, name)
	if err := os.WriteFile(path, []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// signatureOptions are the verifier of policy and the env's registries.d.
func (e *signedEnv) signatureOptions(t *testing.T, policy string) (*signatures.Verifier, *signatures.Registries) {
	t.Helper()
	v, err := signatures.NewVerifier(signatures.Options{PolicyPath: policy})
	if err != nil {
		t.Fatal(err)
	}
	sys := &types.SystemContext{RegistriesDirPath: filepath.Join(e.dir, "registries.d")}
	regs, err := signatures.LoadRegistries(sys)
	if err != nil {
		t.Fatal(err)
	}
	return v, regs
}

func (e *signedEnv) importer(t *testing.T, policy string) *importer.Importer {
	t.Helper()
	v, regs := e.signatureOptions(t, policy)
	client := newClient()
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: client, Concurrency: 4,
		Signatures: importer.SignatureOptions{Verifier: v, Registries: regs}})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func condition(sig imagev1.ImageSignature, typ string) imagev1.SignatureCondition {
	for _, c := range sig.Conditions {
		if string(c.Type) == typ {
			return c
		}
	}
	return imagev1.SignatureCondition{}
}

func TestImportVerifiesThirdPartySignatures(t *testing.T) {
	e := newSignedEnv(t)
	ctx := context.Background()
	host := e.reg.Host()
	imp := e.importer(t, e.policy(t, "policy.json", "trusted.gpg"))
	var refs []string
	for name := range e.pushed {
		refs = append(refs, host+"/sig/"+name+":v1")
	}
	s, err := imp.Run(ctx, importer.Request{References: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Failures) != 0 {
		t.Fatalf("failures: %+v", s.Failures)
	}

	app, err := e.cat.GetImage(ctx, e.pushed["app"].Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if app.Annotations[catalog.AnnotationSignatureVerdict] != "accepted" {
		t.Fatalf("app verdict %q (%s)", app.Annotations[catalog.AnnotationSignatureVerdict], app.Annotations[catalog.AnnotationSignatureReason])
	}
	if len(app.Signatures) != 2 {
		t.Fatalf("app has %d signatures, want GPG + cosign", len(app.Signatures))
	}
	wantKeys := map[string]bool{e.trusted.Fingerprint(): true, e.cosign.Fingerprint(): true}
	for _, sig := range app.Signatures {
		if !strings.HasPrefix(sig.Name, app.Name+"@") || strings.Count(sig.Name, "@") != 1 {
			t.Errorf("signature name %q", sig.Name)
		}
		if condition(sig, "Trusted").Status != "True" || condition(sig, "ForImage").Status != "True" {
			t.Errorf("%s (%s): conditions %+v", sig.Name, sig.Type, sig.Conditions)
		}
		if sig.IssuedTo == nil || !wantKeys[strings.ToUpper(sig.IssuedTo.PublicKeyID)] && !wantKeys[sig.IssuedTo.PublicKeyID] {
			t.Errorf("%s: issuedTo %+v, want one of %v", sig.Name, sig.IssuedTo, wantKeys)
		}
		if sig.SignedClaims["digest"] != app.Name || !strings.HasPrefix(sig.SignedClaims["identity"], host+"/sig/app") || sig.ImageIdentity == "" {
			t.Errorf("%s: claims %v identity %q", sig.Name, sig.SignedClaims, sig.ImageIdentity)
		}
	}

	for name, wantReason := range map[string]string{"other": "", "unsigned": "", "wrongid": ""} {
		img, err := e.cat.GetImage(ctx, e.pushed[name].Digest.String())
		if err != nil {
			t.Fatal(err)
		}
		if img.Annotations[catalog.AnnotationSignatureVerdict] != "rejected" || img.Annotations[catalog.AnnotationSignatureReason] == "" {
			t.Errorf("%s: verdict %q reason %q, want rejected with a reason", name, img.Annotations[catalog.AnnotationSignatureVerdict], img.Annotations[catalog.AnnotationSignatureReason])
		}
		_ = wantReason
		for _, sig := range img.Signatures {
			if condition(sig, "Trusted").Status == "True" || sig.IssuedTo != nil || len(sig.SignedClaims) != 0 {
				t.Errorf("%s: a rejected signature carries trust or claims: %+v", name, sig)
			}
		}
	}
	other, _ := e.cat.GetImage(ctx, e.pushed["other"].Digest.String())
	if len(other.Signatures) != 1 || condition(other.Signatures[0], "Trusted").Reason != signatures.ReasonUnknownKey {
		t.Errorf("other: %+v, want one signature rejected for an unknown key", other.Signatures)
	}
	wrong, _ := e.cat.GetImage(ctx, e.pushed["wrongid"].Digest.String())
	if len(wrong.Signatures) != 1 || condition(wrong.Signatures[0], "Trusted").Reason != signatures.ReasonIdentityNotAccepted &&
		condition(wrong.Signatures[0], "ForImage").Reason != signatures.ReasonIdentityNotAccepted {
		t.Errorf("wrongid: %+v, want the identity not accepted", wrong.Signatures)
	}
	unsigned, _ := e.cat.GetImage(ctx, e.pushed["unsigned"].Digest.String())
	if len(unsigned.Signatures) != 0 {
		t.Errorf("unsigned has signatures")
	}
	for _, c := range append([]testregistry.Pushed{e.pushed["multi"]}, e.pushed["multi"].Children...) {
		img, _ := e.cat.GetImage(ctx, c.Digest.String())
		if img.Annotations[catalog.AnnotationSignatureVerdict] != "accepted" || len(img.Signatures) != 1 {
			t.Errorf("multi %s: verdict %q, %d signatures; want each instance accepted", c.Digest, img.Annotations[catalog.AnnotationSignatureVerdict], len(img.Signatures))
		}
	}
	if s.Verdicts[signatures.VerdictRejected] != 3 {
		t.Errorf("verdicts %v, want 3 rejected", s.Verdicts)
	}

	// Offline re-verification with the same policy gives the same answers
	// and changes nothing; trusting the other key changes exactly one image.
	rv, _ := e.cat.ResourceVersion(ctx)
	same := e.reverify(t, e.policy(t, "same.json", "trusted.gpg"))
	for name, p := range e.pushed {
		img, _ := e.cat.GetImage(ctx, p.Digest.String())
		if r := same[p.Digest.String()]; string(r.Verdict) != img.Annotations[catalog.AnnotationSignatureVerdict] || r.Changed || r.Err != nil {
			t.Errorf("reverify %s: %+v, import said %q", name, r, img.Annotations[catalog.AnnotationSignatureVerdict])
		}
	}
	if rv2, _ := e.cat.ResourceVersion(ctx); rv2 != rv {
		t.Errorf("an unchanged re-verification moved resourceVersion %d -> %d", rv, rv2)
	}
	rotated := e.reverify(t, e.policy(t, "rotated.json", "untrusted.gpg"))
	changed := 0
	for _, r := range rotated {
		if r.Changed {
			changed++
		}
	}
	if r := rotated[e.pushed["other"].Digest.String()]; r.Verdict != signatures.VerdictAccepted || !r.Changed || changed != 1 {
		t.Errorf("after trusting the other key: other %+v, %d changed; want only other, now accepted", r, changed)
	}
	other, _ = e.cat.GetImage(ctx, e.pushed["other"].Digest.String())
	if other.ResourceVersion == fmt.Sprint(rv) || condition(other.Signatures[0], "Trusted").Status != "True" {
		t.Errorf("other after re-verification: rv %s, %+v", other.ResourceVersion, other.Signatures[0].Conditions)
	}
}

func (e *signedEnv) reverify(t *testing.T, policy string) map[string]importer.ReverifyResult {
	t.Helper()
	v, err := signatures.NewVerifier(signatures.Options{PolicyPath: policy})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]importer.ReverifyResult{}
	if err := importer.Reverify(context.Background(), e.cat, v, nil, func(r importer.ReverifyResult) { out[r.Image] = r }); err != nil {
		t.Fatal(err)
	}
	return out
}
