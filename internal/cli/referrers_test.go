package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/refsigtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// The command line end to end: a keyless cosign v3 bundle, found through the
// referrers tag schema, is accepted with --sigstore-trusted-root and a
// sigstoreSigned fulcio policy; `regimport verify` under a policy that
// expects another identity rejects it offline (exit 4); without the trusted
// root, verify refuses to trust it either.
func TestKeylessBundleThroughTheCommandLine(t *testing.T) {
	ctx := context.Background()
	reg, err := testregistry.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	p, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := refsigtest.NewSigstore()
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.Host() + "/team/app"
	b, err := ss.SignKeyless("release@example.com", "https://issuer.example.com", refsigtest.Statement(repo, p.Digest, refsigtest.CosignSignPredicate, nil))
	if err != nil {
		t.Fatal(err)
	}
	m, blobs := refsigtest.BundleManifest(imgspecv1.Descriptor{MediaType: p.MediaType, Digest: p.Digest, Size: int64(len(p.Manifest))}, b, refsigtest.CosignSignPredicate)
	if _, err := reg.PushReferrer(ctx, "team/app", p.Digest, m, true, blobs...); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	caPEM, _ := ss.FulcioCAPEM()
	rekorPEM, _ := ss.RekorPublicKeyPEM()
	trJSON, _ := ss.TrustedRootJSON()
	ca, rekor, tr := write("fulcio.pem", caPEM), write("rekor.pub", rekorPEM), write("trusted_root.json", trJSON)
	policy := func(name, email string) string {
		return write(name, []byte(fmt.Sprintf(`{"default":[{"type":"sigstoreSigned","fulcio":{"caPath":%q,"oidcIssuer":"https://issuer.example.com",
			"subjectEmail":%q},"rekorPublicKeyPath":%q,"signedIdentity":{"type":"matchRepository"}}]}`, ca, email, rekor)))
	}
	db := dbtest.New(t)
	code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--policy", policy("p1.json", "release@example.com"), "--sigstore-trusted-root", tr, repo+":v1")
	if code != ExitOK {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errOut)
	}
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	img, err := cat.GetImage(ctx, p.Digest.String())
	cat.Close()
	if err != nil || img.Annotations[catalog.AnnotationSignatureVerdict] != "accepted" || len(img.Signatures) != 1 || img.Signatures[0].IssuedTo.CommonName != "release@example.com" {
		t.Fatalf("stored: %v %+v", err, img)
	}
	// The keyless signer's evidence: the certificate's subject and OIDC
	// issuer, and the log's integrated time, verified.
	if e := storedEvidence(t, db, repo, p.Digest.String()); len(e) != 1 || e[0].CertificateSubject != "release@example.com" ||
		e[0].OIDCIssuer != "https://issuer.example.com" || e[0].CertificateNotAfter.IsZero() || e[0].TimeSource != "transparency-log" ||
		!e[0].TimeVerified || e[0].SigningTime.IsZero() || !e[0].TLogPresent || !e[0].TLogVerified {
		t.Errorf("keyless evidence %+v", e)
	}
	code, out, errOut = runCLI(t, "report", "--db", db, "--format", "csv", "--table", "unverified-times")
	if code != ExitOK || strings.Contains(out, p.Digest.String()) {
		t.Errorf("a signature with a verified log time is listed as unverified: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", "--db", db, "--policy", policy("p2.json", "someone@example.com"), "--sigstore-trusted-root", tr)
	if code != ExitRejected || !strings.Contains(out, p.Digest.String()) {
		t.Fatalf("verify with another identity: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "verify", "--db", db, "--policy", policy("p3.json", "release@example.com"))
	if code != ExitRejected {
		t.Fatalf("verify without the trusted root: exit %d\n%s\n%s", code, out, errOut)
	}
}
