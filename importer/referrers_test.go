package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/internal/refsigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/report"
	"github.com/regimport/regimport/signatures"
)

func referrerImporter(t *testing.T, e *env, opts signatures.Options) {
	t.Helper()
	v, err := signatures.NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 4,
		Signatures: importer.SignatureOptions{Verifier: v, Referrers: &registry.ReferrerLookup{}}})
	if err != nil {
		t.Fatal(err)
	}
	e.imp = imp
}

func keyPolicyFile(t *testing.T, dir, host string, pem []byte) string {
	t.Helper()
	key := filepath.Join(dir, "cosign.pub")
	os.WriteFile(key, pem, 0o600)
	policy := filepath.Join(dir, "policy.json")
	os.WriteFile(policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{"%s/team":[
		{"type":"sigstoreSigned","keyPath":%q,"signedIdentity":{"type":"matchRepository"}}]}}}`, host, key)), 0o600)
	return policy
}

func subjectOf(p testregistry.Pushed) imgspecv1.Descriptor {
	return imgspecv1.Descriptor{MediaType: p.MediaType, Digest: p.Digest, Size: int64(len(p.Manifest))}
}

func verdictOf(t *testing.T, cat catalog.Catalog, d digest.Digest) (string, string, int) {
	t.Helper()
	img, err := cat.GetImage(context.Background(), d.String())
	if err != nil {
		t.Fatalf("image %s not stored: %v", d, err)
	}
	return img.Annotations[catalog.AnnotationSignatureVerdict], img.Annotations[catalog.AnnotationSignatureReason], len(img.Signatures)
}

// An image signed as cosign v3 signs by default (a sigstore bundle pushed as
// an OCI 1.1 referrer) is accepted under a sigstoreSigned policy naming the
// key, from a registry with the referrers API (a handler in front of
// distribution, which lacks it) and from one without (the referrers tag
// schema). Its SLSA provenance attestation is recorded as an audit fact,
// and `regimport verify` re-judges both offline after a key change.
func TestCosignV3BundlesFromRegistriesWithAndWithoutReferrersAPI(t *testing.T) {
	for _, withAPI := range []bool{true, false} {
		t.Run(fmt.Sprintf("referrersAPI=%v", withAPI), func(t *testing.T) {
			ctx := context.Background()
			var opts []testregistry.Option
			if withAPI {
				opts = append(opts, testregistry.WithMiddleware(testregistry.ReferrersAPI()))
			}
			e := newEnv(t, opts...)
			signed := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 1})
			unsigned := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v2"}, Format: testregistry.OCI, Seed: 2})
			key, err := refsigtest.NewKey()
			if err != nil {
				t.Fatal(err)
			}
			repoName := e.reg.Host() + "/team/app"
			sig, err := key.SignDSSE(refsigtest.Statement(repoName, signed.Digest, refsigtest.CosignSignPredicate, nil))
			if err != nil {
				t.Fatal(err)
			}
			prov, err := key.SignDSSE(refsigtest.Statement(repoName, signed.Digest, refsigtest.SLSAProvenance, map[string]any{"buildDefinition": map[string]any{}}))
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range []struct {
				content []byte
				pred    string
			}{{sig, refsigtest.CosignSignPredicate}, {prov, refsigtest.SLSAProvenance}} {
				m, blobs := refsigtest.BundleManifest(subjectOf(signed), b.content, b.pred)
				if _, err := e.reg.PushReferrer(ctx, "team/app", signed.Digest, m, !withAPI, blobs...); err != nil {
					t.Fatal(err)
				}
			}
			dir := t.TempDir()
			policy := keyPolicyFile(t, dir, e.reg.Host(), key.PEM)
			referrerImporter(t, e, signatures.Options{PolicyPath: policy})
			s := e.run(t, importer.Request{References: []string{repoName + ":v1", repoName + ":v2"}})
			if len(s.Failures) != 0 {
				t.Fatalf("failures: %+v", s.Failures)
			}
			if v, r, n := verdictOf(t, e.cat, signed.Digest); v != "accepted" || n != 1 {
				t.Fatalf("signed image: verdict %q (%s), %d signatures; want accepted with 1", v, r, n)
			}
			img, _ := e.cat.GetImage(ctx, signed.Digest.String())
			rec := img.Signatures[0]
			if c := condition(rec, "Trusted"); c.Status != "True" || rec.Type != signatures.TypeSigstoreBundle || rec.SignedClaims["type"] != refsigtest.CosignSignPredicate {
				t.Fatalf("signature: %s %+v, claims %v", rec.Type, c, rec.SignedClaims)
			}
			if v, r, _ := verdictOf(t, e.cat, unsigned.Digest); v != "rejected" {
				t.Fatalf("unsigned image: verdict %q (%s), want rejected", v, r)
			}
			// The report tells which images have provenance and SBOMs.
			var js bytes.Buffer
			if err := report.Write(ctx, &js, e.cat, report.Options{Format: report.FormatJSON}); err != nil {
				t.Fatal(err)
			}
			var doc report.Document
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			a := doc.Attestations
			if a.Checked != 2 || a.NotChecked != 0 || a.WithProvenance != 1 || a.WithVerifiedProvenance != 1 || a.WithSBOM != 0 || len(a.Images) != 2 {
				t.Fatalf("report attestations: %+v", a)
			}
			for _, row := range a.Images {
				wantProv := row.Digest == signed.Digest.String()
				if row.Provenance != wantProv || row.VerifiedProvenance != wantProv || row.SBOM {
					t.Errorf("%s: %+v, want provenance %v and no SBOM", row.Digest, row, wantProv)
				}
			}
			var md, page bytes.Buffer
			if err := report.Write(ctx, &md, e.cat, report.Options{Format: report.FormatMarkdown, Table: "no-provenance"}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(md.String(), unsigned.Digest.String()) || strings.Contains(md.String(), signed.Digest.String()) {
				t.Errorf("no-provenance table:\n%s", md.String())
			}
			if err := report.Write(ctx, &page, e.cat, report.Options{Format: report.FormatHTML}); err != nil {
				t.Fatal(err)
			}
			html := page.String()
			noProv := html[strings.Index(html, `id="no-provenance"`):strings.Index(html, `id="no-sbom"`)]
			noSBOM := html[strings.Index(html, `id="no-sbom"`):]
			noSBOM = noSBOM[:strings.Index(noSBOM, "</table>")]
			if !strings.Contains(noProv, unsigned.Digest.String()) || strings.Contains(noProv, signed.Digest.String()) ||
				!strings.Contains(noSBOM, unsigned.Digest.String()) || !strings.Contains(noSBOM, signed.Digest.String()) {
				t.Errorf("HTML attestation tables wrong:\n%s\n%s", noProv, noSBOM)
			}

			// The key is rotated: offline re-verification rejects the image
			// and no longer counts its provenance as verified.
			other, _ := refsigtest.NewKey()
			newPolicy := keyPolicyFile(t, t.TempDir(), e.reg.Host(), other.PEM)
			v, err := signatures.NewVerifier(signatures.Options{PolicyPath: newPolicy})
			if err != nil {
				t.Fatal(err)
			}
			results := map[string]importer.ReverifyResult{}
			if err := importer.Reverify(ctx, e.cat, v, nil, func(r importer.ReverifyResult) { results[r.Image] = r }); err != nil {
				t.Fatal(err)
			}
			if r := results[signed.Digest.String()]; r.Err != nil || r.Verdict != signatures.VerdictRejected || !r.Changed {
				t.Fatalf("re-verification: %+v", r)
			}
			atts, checked, err := e.cat.StoredAttestations(ctx, signed.Digest.String())
			if err != nil || !checked || len(atts) != 1 || atts[0].Verified || atts[0].Reason != signatures.ReasonUnknownKey {
				t.Fatalf("attestations after re-verification: %+v, %v, %v", atts, checked, err)
			}
		})
	}
}

// A notation-signed image (JWS, pushed through the referrers tag schema) is
// trusted under a notation trust policy; one outside its scopes gets
// OutsideTrustPolicy.
func TestNotationSignedImageTrustedUnderTrustPolicy(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	img := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 3})
	out := e.push(t, testregistry.ImageSpec{Repository: "other/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 4})
	n, err := refsigtest.NewNotationSigner("Release Signer", "Example Corp")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []testregistry.Pushed{img, out} {
		env, err := n.Sign(ctx, subjectOf(p), refsigtest.NotationJWS)
		if err != nil {
			t.Fatal(err)
		}
		m, blobs := refsigtest.NotationManifest(subjectOf(p), refsigtest.NotationJWS, env)
		if _, err := e.reg.PushReferrer(ctx, p.Repository, p.Digest, m, true, blobs...); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	store := filepath.Join(dir, "truststore")
	if err := n.WriteTrustStore(store, "release"); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(dir, "trustpolicy.json")
	os.WriteFile(policy, refsigtest.TrustPolicy("release", e.reg.Host()+"/team/app"), 0o600)
	referrerImporter(t, e, signatures.Options{NotationTrustPolicy: policy, NotationTrustStore: store})
	e.run(t, importer.Request{References: []string{e.reg.Host() + "/team/app:v1", e.reg.Host() + "/other/app:v1"}})
	if v, r, n := verdictOf(t, e.cat, img.Digest); v != "accepted" || n != 1 {
		t.Fatalf("in scope: verdict %q (%s), %d signatures", v, r, n)
	}
	stored, _ := e.cat.GetImage(ctx, out.Digest.String())
	if len(stored.Signatures) != 1 || condition(stored.Signatures[0], "Trusted").Reason != signatures.ReasonOutsideTrustPolicy {
		t.Fatalf("outside the scopes: %+v", stored.Signatures)
	}
}

// A registry listing 10,000 referrers for an image: the first 128 are
// tried (they do not exist: each is a Trusted=False UnreadableReferrer), the
// rest become one TooManyReferrers record; the image is stored, and the
// pair is unevaluated with a short reason (signatures that could not be
// read are never an acceptance, nor a rejection of what was never seen).
// distribution refuses to store an index whose children it lacks, so a
// handler in front serves this hostile index at the referrers tag.
func TestHugeReferrerIndexIsCappedNotFatal(t *testing.T) {
	idx := imgspecv1.Index{MediaType: imgspecv1.MediaTypeImageIndex}
	idx.SchemaVersion = 2
	for i := range 10000 {
		idx.Manifests = append(idx.Manifests, imgspecv1.Descriptor{MediaType: imgspecv1.MediaTypeImageManifest,
			Digest: digest.FromString(fmt.Sprint(i)), Size: 500, ArtifactType: signatures.BundleMediaType})
	}
	raw, _ := json.Marshal(idx)
	e := newEnv(t, testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/sha256-") {
				w.Header().Set("Content-Type", imgspecv1.MediaTypeImageIndex)
				w.Write(raw)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	p := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 5})
	key, _ := refsigtest.NewKey()
	referrerImporter(t, e, signatures.Options{PolicyPath: keyPolicyFile(t, t.TempDir(), e.reg.Host(), key.PEM)})
	e.run(t, importer.Request{References: []string{e.reg.Host() + "/team/app:v1"}})
	v, reason, n := verdictOf(t, e.cat, p.Digest)
	if v != string(catalog.VerdictUnevaluated) || n != registry.MaxReferrers+1 {
		t.Fatalf("verdict %q (%s), %d records; want %s with %d", v, reason, n, catalog.VerdictUnevaluated, registry.MaxReferrers+1)
	}
	if !strings.Contains(reason, "128 of 128 referrers could not be read") || !strings.Contains(reason, "9872 referrers beyond the cap") || len(reason) > 1000 {
		t.Errorf("reason %q: want both counts, in under 1000 characters", reason)
	}
	img, _ := e.cat.GetImage(context.Background(), p.Digest.String())
	for i, s := range img.Signatures {
		want := signatures.ReasonUnreadableReferrer
		if i == registry.MaxReferrers {
			want = signatures.ReasonTooManyReferrers
		}
		if c := condition(s, "Trusted"); c.Status != "False" || c.Reason != want {
			t.Fatalf("record %d: %s/%s (%s), want False/%s", i, c.Status, c.Reason, c.Message, want)
		}
	}
}

// Re-verification stores an attestation's new result even when the image's
// verdict and signatures did not change (and gives it no new resourceVersion).
func TestReverifyUpdatesAttestationsAlone(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	p := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 6})
	signer, _ := refsigtest.NewKey()
	builder, _ := refsigtest.NewKey() // the build system signs provenance with a key of its own
	repoName := e.reg.Host() + "/team/app"
	sig, _ := signer.SignDSSE(refsigtest.Statement(repoName, p.Digest, refsigtest.CosignSignPredicate, nil))
	sbom, _ := builder.SignDSSE(refsigtest.Statement(repoName, p.Digest, refsigtest.SPDXDocument, map[string]any{"spdxVersion": "SPDX-2.3"}))
	for _, b := range []struct {
		content []byte
		pred    string
	}{{sig, refsigtest.CosignSignPredicate}, {sbom, refsigtest.SPDXDocument}} {
		m, blobs := refsigtest.BundleManifest(subjectOf(p), b.content, b.pred)
		if _, err := e.reg.PushReferrer(ctx, "team/app", p.Digest, m, true, blobs...); err != nil {
			t.Fatal(err)
		}
	}
	referrerImporter(t, e, signatures.Options{PolicyPath: keyPolicyFile(t, t.TempDir(), e.reg.Host(), signer.PEM)})
	e.run(t, importer.Request{References: []string{repoName + ":v1"}})
	atts, _, _ := e.cat.StoredAttestations(ctx, p.Digest.String())
	if len(atts) != 1 || atts[0].Verified || atts[0].PredicateType != refsigtest.SPDXDocument {
		t.Fatalf("at import: %+v", atts)
	}
	before, _ := e.cat.GetImage(ctx, p.Digest.String())

	// The policy now trusts the builder's key too.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.pub"), signer.PEM, 0o600)
	os.WriteFile(filepath.Join(dir, "b.pub"), builder.PEM, 0o600)
	policy := filepath.Join(dir, "policy.json")
	os.WriteFile(policy, []byte(fmt.Sprintf(`{"default":[{"type":"reject"}],"transports":{"docker":{"%s/team":[
		{"type":"sigstoreSigned","keyPaths":[%q,%q],"signedIdentity":{"type":"matchRepository"}}]}}}`, e.reg.Host(), filepath.Join(dir, "a.pub"), filepath.Join(dir, "b.pub"))), 0o600)
	v, err := signatures.NewVerifier(signatures.Options{PolicyPath: policy})
	if err != nil {
		t.Fatal(err)
	}
	var res importer.ReverifyResult
	if err := importer.Reverify(ctx, e.cat, v, nil, func(r importer.ReverifyResult) { res = r }); err != nil {
		t.Fatal(err)
	}
	if res.Err != nil || res.Verdict != signatures.VerdictAccepted {
		t.Fatalf("re-verification: %+v", res)
	}
	atts, _, _ = e.cat.StoredAttestations(ctx, p.Digest.String())
	if len(atts) != 1 || !atts[0].Verified || atts[0].Signer == "" {
		t.Fatalf("after re-verification: %+v", atts)
	}
	after, _ := e.cat.GetImage(ctx, p.Digest.String())
	if res.Changed || after.ResourceVersion != before.ResourceVersion {
		t.Errorf("changed %v, resourceVersion %s -> %s", res.Changed, before.ResourceVersion, after.ResourceVersion)
	}
}
