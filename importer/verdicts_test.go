package importer_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/report/query"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogtest"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/types"
	corev1 "k8s.io/api/core/v1"
)

type sharedEnv struct {
	*env
	s *sigtest.Shared
}

func newSharedEnv(t *testing.T, opts ...testregistry.Option) *sharedEnv {
	t.Helper()
	e := &sharedEnv{env: newEnv(t, opts...)}
	var err error
	if e.s, err = sigtest.NewShared(context.Background(), e.reg, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *sharedEnv) importer(t *testing.T) *importer.Importer {
	t.Helper()
	v, err := signatures.NewVerifier(signatures.Options{PolicyPath: e.s.Policy})
	if err != nil {
		t.Fatal(err)
	}
	regs, err := signatures.LoadRegistries(&types.SystemContext{RegistriesDirPath: e.s.RegistriesD})
	if err != nil {
		t.Fatal(err)
	}
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 4,
		Signatures: importer.SignatureOptions{Verifier: v, Registries: regs}})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

func (e *sharedEnv) repo(name string) string { return e.reg.Host() + "/" + name }

func (e *sharedEnv) runImport(t *testing.T, req importer.Request) importer.Summary {
	t.Helper()
	s, err := e.importer(t).Run(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// verdicts maps repository -> verdict of an image.
func (e *sharedEnv) verdicts(t *testing.T, image string) map[string]catalog.PairVerdict {
	t.Helper()
	vs, err := e.cat.Verdicts(context.Background(), image)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]catalog.PairVerdict{}
	for _, v := range vs {
		out[v.Repository] = v
	}
	return out
}

// wantAccepted checks that repo's verdict on image is accepted, and, when
// signer is set, that the repository's signatures include one that
// verified with that signer.
func (e *sharedEnv) wantAccepted(t *testing.T, repo, image, signer string) {
	t.Helper()
	v, ok := e.verdicts(t, image)[e.repo(repo)]
	if !ok || v.Verdict != "accepted" || v.Migrated {
		t.Errorf("%s in %s: verdict %+v, want accepted", image, repo, v)
	}
	sigs, err := e.cat.StoredSignatures(context.Background(), e.repo(repo), image)
	if err != nil {
		t.Fatal(err)
	}
	if signer == "" {
		if len(sigs) != 0 {
			t.Errorf("%s in %s: %d signatures, want none (none are there)", image, repo, len(sigs))
		}
		return
	}
	for _, s := range sigs {
		if condition(s.Object, "Trusted").Status == "True" && s.Object.IssuedTo != nil && strings.EqualFold(s.Object.IssuedTo.PublicKeyID, signer) &&
			s.Object.Annotations[catalog.AnnotationSignatureRepository] == e.repo(repo) {
			return
		}
	}
	t.Errorf("%s in %s: no verified signature by %s among %d: %+v", image, repo, signer, len(sigs), sigs)
}

// wantRow checks the report's inventory row of repo:tag: accepted, with
// that status and, when signer is set, that signer alone.
func (e *sharedEnv) wantRow(t *testing.T, repo, tag, status, signer string) {
	t.Helper()
	snap, err := query.BeginReport(context.Background(), e.cat, "")
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var row *query.ReportImage
	err = snap.Inventory(context.Background(), func(r query.ReportImage) error {
		if r.Repository == e.repo(repo) && r.Tag == tag {
			row = &r
		}
		return nil
	})
	if err != nil || row == nil {
		t.Fatalf("inventory row of %s:%s: %v", repo, tag, err)
	}
	okSigner := len(row.Signers) == 0
	if signer != "" {
		okSigner = len(row.Signers) == 1 && strings.Contains(strings.ToUpper(row.Signers[0]), strings.ToUpper(signer))
	}
	if row.SignatureVerdict != "accepted" || row.SignatureStatus != status || !okSigner {
		t.Errorf("inventory row of %s:%s: %+v, want accepted, %s, signer %q", repo, tag, *row, status, signer)
	}
}

func TestSameImageInUnsignedAndGPGRepositoriesInOneRun(t *testing.T) {
	e := newSharedEnv(t)
	e.reg.ResetRequests()
	s := e.runImport(t, importer.Request{Repositories: []string{e.repo(sigtest.SharedSeed), e.repo(sigtest.SharedGPG)}})
	if len(s.Failures) != 0 || s.Verdicts[signatures.VerdictRejected] != 0 {
		t.Fatalf("failures %+v, verdicts %v", s.Failures, s.Verdicts)
	}
	img := e.s.Image.Digest.String()
	e.wantAccepted(t, sigtest.SharedSeed, img, "")
	e.wantAccepted(t, sigtest.SharedGPG, img, e.s.GPG.Fingerprint())
	// A list referenced from both: each instance is a pair of its own.
	for _, p := range append([]testregistry.Pushed{e.s.List}, e.s.List.Children...) {
		e.wantAccepted(t, sigtest.SharedSeed, p.Digest.String(), "")
		e.wantAccepted(t, sigtest.SharedGPG, p.Digest.String(), e.s.GPG.Fingerprint())
	}
	// One manifest and config fetch per image, whatever the repositories:
	// the image and the list are each GET by their tag in each repository
	// (2 x 2), the list's two children once, the image's config once and
	// the children's configs once each.
	reqs := e.reg.Requests()
	if got := reqs.Get(testregistry.KindManifestGet); got != 2*2+2 {
		t.Errorf("manifest GETs %d, want 6", got)
	}
	if got := reqs.Get(testregistry.KindBlobGet); got != 3 {
		t.Errorf("blob GETs %d, want 3 configs", got)
	}
	// The report's inventory rows: one per tag, each with its repository's
	// verdict and the signers found there.
	e.wantRow(t, sigtest.SharedGPG, "v1", query.StatusSigned, e.s.GPG.Fingerprint())
	e.wantRow(t, sigtest.SharedSeed, "v1", query.StatusUnsigned, "")
	served, err := e.cat.GetImage(context.Background(), img)
	if err != nil {
		t.Fatal(err)
	}
	if served.Annotations[catalog.AnnotationSignatureVerdict] != "accepted" ||
		!strings.Contains(served.Annotations[catalog.AnnotationSignatureVerdicts], `"`+e.repo(sigtest.SharedGPG)+`":"accepted"`) {
		t.Errorf("served annotations %v", served.Annotations)
	}
}

func TestSameImageInUnsignedAndCosignRepositories(t *testing.T) {
	e := newSharedEnv(t)
	// --all-tags over a cosign-signed repository: its sha256-<hex>.sig tag
	// is the signature of v1, not an image with a verdict of its own.
	s := e.runImport(t, importer.Request{AllTags: true, References: []string{e.repo(sigtest.SharedSeed), e.repo(sigtest.SharedCosign)}})
	if len(s.Failures) != 0 || s.Verdicts[signatures.VerdictRejected] != 0 {
		t.Fatalf("failures %+v, verdicts %v", s.Failures, s.Verdicts)
	}
	img := e.s.Image.Digest.String()
	e.wantAccepted(t, sigtest.SharedSeed, img, "")
	e.wantAccepted(t, sigtest.SharedCosign, img, e.s.Cosign.Fingerprint())
	e.wantRow(t, sigtest.SharedCosign, "v1", query.StatusSigned, e.s.Cosign.Fingerprint())
	e.wantRow(t, sigtest.SharedSeed, "v1", query.StatusUnsigned, "")
	for _, r := range s.Results {
		if strings.Contains(r.Reference, ".sig") {
			t.Errorf("the signature tag was imported: %+v", r)
		}
	}
	tags, err := e.cat.TagsOfImageIn(context.Background(), e.repo(sigtest.SharedCosign), img)
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Errorf("tags of the image in the cosign repository: %v %v", tags, err)
	}
	page, err := e.cat.ListImages(context.Background(), catalog.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range page.Items {
		if im.DockerImageManifestMediaType == "application/vnd.oci.image.manifest.v1+json" && strings.Contains(im.DockerImageManifest, "cosign") {
			t.Errorf("the signature artifact %s was stored as an image", im.Name)
		}
	}
}

func TestSecondRepositoryInALaterRunLooksUpOnlyItsSignatures(t *testing.T) {
	e := newSharedEnv(t)
	e.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedSeed) + ":v1"}})
	img := e.s.Image.Digest.String()
	e.wantAccepted(t, sigtest.SharedSeed, img, "")

	e.reg.ResetRequests()
	s := e.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedGPG) + ":v1", e.repo(sigtest.SharedCosign) + ":v1"}})
	if len(s.Failures) != 0 || s.Verdicts[signatures.VerdictAccepted] != 2 {
		t.Fatalf("failures %+v, verdicts %v; want 2 pairs accepted", s.Failures, s.Verdicts)
	}
	e.wantAccepted(t, sigtest.SharedGPG, img, e.s.GPG.Fingerprint())
	e.wantAccepted(t, sigtest.SharedCosign, img, e.s.Cosign.Fingerprint())
	e.wantAccepted(t, sigtest.SharedSeed, img, "")
	e.wantRow(t, sigtest.SharedGPG, "v1", query.StatusSigned, e.s.GPG.Fingerprint())
	e.wantRow(t, sigtest.SharedCosign, "v1", query.StatusSigned, e.s.Cosign.Fingerprint())
	// The image is stored: its config is not fetched again; the only blob
	// read is the cosign signature payload.
	if got := e.reg.Requests().Get(testregistry.KindBlobGet); got != 1 {
		t.Errorf("blob GETs %d in the second run, want 1 (the cosign payload)", got)
	}

	// A third run with nothing new looks nothing up and changes nothing.
	rv, _ := e.cat.ResourceVersion(context.Background())
	s = e.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedGPG) + ":v1", e.repo(sigtest.SharedSeed) + ":v1"}})
	if len(s.Verdicts) != 0 {
		t.Errorf("a re-run evaluated again: %v", s.Verdicts)
	}
	if rv2, _ := e.cat.ResourceVersion(context.Background()); rv2 != rv {
		t.Errorf("a re-run moved resourceVersion %d -> %d", rv, rv2)
	}
}

// brokenSignatures is a hand-written handler in front of the real registry:
// a registry cannot be made to fail for one repository's signature tag
// only. mode "5xx" answers 503, "corrupt" a body that is no manifest.
func brokenSignatures(mode string) testregistry.Option {
	return testregistry.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/v2/"+sigtest.SharedBroken+"/manifests/sha256-") && !testregistry.IsSeedRequest(r) {
				if mode == "5xx" {
					http.Error(w, "backend unavailable", http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
				w.Write([]byte(`{"schemaVersion": 2, "layers": [{"mediaType": `))
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

func TestSignaturesThatCannotBeFetchedLeaveThePairUnevaluated(t *testing.T) {
	for _, mode := range []string{"corrupt", "5xx"} {
		t.Run(mode, func(t *testing.T) {
			e := newSharedEnv(t, brokenSignatures(mode))
			s := e.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedBroken) + ":v1", e.repo(sigtest.SharedCosign) + ":v1",
				e.repo(sigtest.SharedSeed) + ":v1"}})
			img := e.s.Image.Digest.String()
			v := e.verdicts(t, img)[e.repo(sigtest.SharedBroken)]
			if v.Verdict != catalog.VerdictUnevaluated || !strings.Contains(v.Reason, "could not be fetched") {
				t.Errorf("broken repository: %+v, want unevaluated with the reason", v)
			}
			e.wantAccepted(t, sigtest.SharedCosign, img, e.s.Cosign.Fingerprint())
			e.wantAccepted(t, sigtest.SharedSeed, img, "")
			if len(s.Failures) != 1 || !strings.HasPrefix(s.Failures[0].Reference, e.repo(sigtest.SharedBroken)+"@") {
				t.Errorf("failures %+v, want the broken pair alone", s.Failures)
			}
			served, _ := e.cat.GetImage(context.Background(), img)
			if served.Annotations[catalog.AnnotationSignatureVerdict] != string(catalog.VerdictMixed) {
				t.Errorf("summary %q, want mixed", served.Annotations[catalog.AnnotationSignatureVerdict])
			}
		})
	}
}

func TestArtifactTags(t *testing.T) {
	hex := strings.Repeat("ab", 32)
	for tag, want := range map[string]bool{
		"sha256-" + hex + ".sig": true, "sha256-" + hex + ".att": true, "sha256-" + hex + ".sbom": true, "sha256-" + hex: true,
		"sha256-" + hex + ".txt": false, "sha256-" + hex[:63]: false, "v1": false, "sha256-" + strings.ToUpper(hex) + ".sig": false, "latest.sig": false,
	} {
		if got := importer.IsArtifactTag(tag); got != want {
			t.Errorf("IsArtifactTag(%q) = %v, want %v", tag, got, want)
		}
	}
}

func TestArtifactTagsAsImagesOption(t *testing.T) {
	e := newSharedEnv(t)
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), ArtifactTagsAsImages: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := imp.Run(context.Background(), importer.Request{AllTags: true, References: []string{e.repo(sigtest.SharedCosign)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Results) != 2 {
		t.Errorf("results %+v, want v1 and the .sig tag as plain images", s.Results)
	}
}

// The catalog an older regimport wrote (0003) had one verdict per image:
// the repository imported first. Migrated, that verdict moves to every
// repository that references the image, and the next run looks up what was
// never looked up.
func TestMigratedCatalogIsFilledInByARerun(t *testing.T) {
	dbtest.SQLiteOnly(t, "it rewinds a catalog file to schema 3, which only SQLite catalogs ever had")
	e := newSharedEnv(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	old, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// What regimport before 0004 did: the seed repository first, then the
	// signed one, the stored image never looked up again.
	seedOnly := &sharedEnv{env: &env{reg: e.reg, cat: old}, s: e.s}
	seedOnly.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedSeed) + ":v1"}})
	plain, _ := importer.New(importer.Options{Catalog: old, Registry: newClient()})
	if _, err := plain.Run(ctx, importer.Request{References: []string{e.repo(sigtest.SharedGPG) + ":v1"}}); err != nil {
		t.Fatal(err)
	}
	old.Close()
	if err := catalogtest.RewindTo0003(ctx, path); err != nil {
		t.Fatal(err)
	}
	cat, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	img := e.s.Image.Digest.String()
	migrated := &sharedEnv{env: &env{reg: e.reg, cat: cat}, s: e.s}
	vs := migrated.verdicts(t, img)
	for _, repo := range []string{sigtest.SharedSeed, sigtest.SharedGPG} {
		if v := vs[e.repo(repo)]; v.Verdict != "accepted" || !v.Migrated {
			t.Errorf("%s after migration: %+v, want the image's verdict, marked migrated", repo, v)
		}
	}
	e.reg.ResetRequests()
	s := migrated.runImport(t, importer.Request{References: []string{e.repo(sigtest.SharedSeed) + ":v1", e.repo(sigtest.SharedGPG) + ":v1"}})
	if len(s.Failures) != 0 || s.Verdicts[signatures.VerdictAccepted] != 2 {
		t.Fatalf("re-run: failures %+v verdicts %v", s.Failures, s.Verdicts)
	}
	migrated.wantAccepted(t, sigtest.SharedGPG, img, e.s.GPG.Fingerprint())
	migrated.wantAccepted(t, sigtest.SharedSeed, img, "")
	reqs := e.reg.Requests()
	if reqs.Get(testregistry.KindManifestGet) != 0 || reqs.Get(testregistry.KindBlobGet) != 0 {
		t.Errorf("the re-run fetched manifests or blobs: %v; want only HEADs and the signature lookup", reqs)
	}
}

// Image stream status tags carry the verdict of the repository each was
// imported from; a re-import of the same documents changes nothing.
func TestImageStreamTagsCarryTheirRepositorysVerdict(t *testing.T) {
	e := newSharedEnv(t)
	ctx := context.Background()
	seed, gpg := fromImage(e.repo(sigtest.SharedSeed)+":v1"), fromImage(e.repo(sigtest.SharedGPG)+":v1")
	seed.To, gpg.To = &corev1.LocalObjectReference{Name: "seed"}, &corev1.LocalObjectReference{Name: "gpg"}
	strict := filepath.Join(t.TempDir(), "strict.json")
	if err := os.WriteFile(strict, []byte(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"`+
		e.repo(sigtest.SharedSeed)+`":[{"type":"reject"}]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.s.Policy = strict // seed/repo000 rejected, signed/gpg accepted
	imp := e.importer(t)
	sum, err := streamimport.Import(ctx, imp, []*imagev1.ImageStreamImport{isiOf("shared", true, seed, gpg)}, streamimport.Options{})
	if err != nil || len(sum.Failures) != 0 {
		t.Fatalf("import: %v %+v", err, sum.Failures)
	}
	is, err := e.cat.GetImageStream(ctx, "team", "shared")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"seed": "False/Rejected/" + e.repo(sigtest.SharedSeed), "gpg": "True/Accepted/" + e.repo(sigtest.SharedGPG)}
	for _, tag := range is.Status.Tags {
		got := ""
		for _, c := range tag.Conditions {
			if c.Type == catalog.ConditionSignatureVerified {
				got = string(c.Status) + "/" + c.Reason + "/" + strings.TrimPrefix(c.Message, "signature verdict in ")
			}
		}
		if !strings.HasPrefix(got, want[tag.Tag]) {
			t.Errorf("status tag %s: condition %q, want %q", tag.Tag, got, want[tag.Tag])
		}
		delete(want, tag.Tag)
	}
	if len(want) != 0 {
		t.Errorf("status tags missing: %v", want)
	}
	rv := is.ResourceVersion
	if _, err := streamimport.Import(ctx, imp, []*imagev1.ImageStreamImport{isiOf("shared", true, seed, gpg)}, streamimport.Options{}); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.cat.GetImageStream(ctx, "team", "shared"); again.ResourceVersion != rv {
		t.Errorf("a re-import moved the stream's resourceVersion %s -> %s", rv, again.ResourceVersion)
	}
}

// In an ImageStreamImport too, a pair whose signatures cannot be fetched is
// a failure of the run, with the reason, and the tag still imports.
func TestStreamImportReportsUnevaluatedPairs(t *testing.T) {
	e := newSharedEnv(t, brokenSignatures("corrupt"))
	sum, err := streamimport.Import(context.Background(), e.importer(t),
		[]*imagev1.ImageStreamImport{isiOf("broken", true, fromImage(e.repo(sigtest.SharedBroken)+":v1"))}, streamimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failures) != 1 || sum.Failures[0].Reference != e.repo(sigtest.SharedBroken)+"@"+e.s.Image.Digest.String() ||
		!strings.Contains(sum.Failures[0].Reason, "could not be fetched") {
		t.Errorf("failures %+v, want the broken pair", sum.Failures)
	}
	if v := e.verdicts(t, e.s.Image.Digest.String())[e.repo(sigtest.SharedBroken)]; v.Verdict != catalog.VerdictUnevaluated {
		t.Errorf("verdict %+v, want unevaluated", v)
	}
}
