package importer_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func isiOf(name string, doImport bool, images ...imagev1.ImageImportSpec) *imagev1.ImageStreamImport {
	return &imagev1.ImageStreamImport{
		TypeMeta:   metav1.TypeMeta{Kind: "ImageStreamImport", APIVersion: "image.openshift.io/v1"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name},
		Spec:       imagev1.ImageStreamImportSpec{Import: doImport, Images: images},
	}
}

func fromImage(name string) imagev1.ImageImportSpec {
	return imagev1.ImageImportSpec{From: corev1.ObjectReference{Kind: "DockerImage", Name: name}}
}

func (e *env) streams(t *testing.T, opts streamimport.Options, isis ...*imagev1.ImageStreamImport) importer.Summary {
	t.Helper()
	sum, err := streamimport.Import(context.Background(), e.imp, isis, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func wantStatus(t *testing.T, what string, st metav1.Status, status string, reason metav1.StatusReason, code int32) {
	t.Helper()
	if st.Status != status || st.Reason != reason || st.Code != code {
		t.Errorf("%s: status %s/%s/%d (%s), want %s/%s/%d", what, st.Status, st.Reason, st.Code, st.Message, status, reason, code)
	}
}

func TestStreamImportByTagAndDigest(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	p := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 1})
	withManifest := fromImage(host + "/team/app:v1")
	withManifest.To = &corev1.LocalObjectReference{Name: "stable"}
	withManifest.IncludeManifest = true
	byDigest := fromImage(host + "/team/app@" + p.Digest.String())
	byDigest.IncludeManifest = true
	isi := isiOf("app", true, fromImage(host+"/team/app:v1"), byDigest, withManifest)
	sum := e.streams(t, streamimport.Options{}, isi)
	if len(sum.Failures) != 0 || sum.RunID == 0 || sum.ImagesCreated != 1 || sum.StreamsChanged != 1 {
		t.Fatalf("summary %+v", sum)
	}
	ref := host + "/team/app@" + p.Digest.String()
	for i, wantTag := range []string{"v1", "", "v1"} {
		st := isi.Status.Images[i]
		wantStatus(t, "image", st.Status, metav1.StatusSuccess, "", 0)
		if st.Tag != wantTag || st.Image == nil || st.Image.Name != p.Digest.String() || st.Image.DockerImageReference != ref {
			t.Fatalf("status.images[%d]: tag %q image %+v", i, st.Tag, st.Image)
		}
		if st.Image.UID == "" || st.Image.Kind != "" {
			t.Errorf("status.images[%d] is not the stored image as nested: uid %q kind %q", i, st.Image.UID, st.Image.Kind)
		}
		// OpenShift's rule: includeManifest, and only where no Image was
		// created (a digest without to); [2] asks too, but its Image is
		// created and comes back as stored, cleared by PrepareImageForCreate.
		if keep := i == 1; (st.Image.DockerImageManifest != "") != keep || (st.Image.DockerImageConfig != "") != keep {
			t.Errorf("status.images[%d]: manifest kept %v, want %v (includeManifest)", i, st.Image.DockerImageManifest != "", keep)
		}
	}
	if isi.Spec.Images[0].To == nil || isi.Spec.Images[0].To.Name != "v1" || isi.Spec.Images[1].To != nil {
		t.Errorf("to.name defaults: %+v %+v", isi.Spec.Images[0].To, isi.Spec.Images[1].To)
	}
	if isi.Spec.Images[0].ImportPolicy.ImportMode != imagev1.ImportModeLegacy || isi.Spec.Images[0].ReferencePolicy.Type != imagev1.SourceTagReferencePolicy {
		t.Errorf("policy defaults: %+v", isi.Spec.Images[0])
	}
	is := isi.Status.Import
	if is == nil || is.Generation != 1 || len(is.Spec.Tags) != 2 || len(is.Status.Tags) != 2 || is.Kind != "" {
		t.Fatalf("status.import: %+v", is)
	}
	if s := is.Spec.Tags[0]; s.Name != "stable" || s.From.Name != host+"/team/app:v1" || *s.Generation != 1 {
		t.Errorf("spec tag: %+v", s)
	}
	if ev := is.Status.Tags[1].Items; is.Status.Tags[1].Tag != "v1" || len(ev) != 1 || ev[0].Image != p.Digest.String() || ev[0].DockerImageReference != ref || ev[0].Generation != 1 {
		t.Errorf("tag events: %+v", is.Status.Tags)
	}
	stored, err := e.cat.GetImageStream(context.Background(), "team", "app")
	if err != nil || stored.ResourceVersion != is.ResourceVersion || stored.UID != is.UID {
		t.Errorf("catalog stream %+v, %v", stored, err)
	}
	if got, _ := e.cat.TagImage(context.Background(), host+"/team/app", "v1"); got != p.Digest.String() {
		t.Errorf("registry tag recorded as %q", got)
	}
}

func TestStreamImportRepositoryCapFiltersAndAdditionalTags(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	for i, tag := range []string{"latest", "1.0", "1.1", "2.0", "v2.1", "foo", "bar"} {
		e.push(t, testregistry.ImageSpec{Repository: "team/many", Tags: []string{tag}, Format: testregistry.Schema2, Seed: int64(100 + i)})
	}
	repoImport := func(name string, annotations map[string]string) *imagev1.ImageStreamImport {
		isi := isiOf(name, true)
		isi.Annotations = annotations
		isi.Spec.Repository = &imagev1.RepositoryImportSpec{From: corev1.ObjectReference{Kind: "DockerImage", Name: host + "/team/many"}}
		return isi
	}
	capped := repoImport("capped", map[string]string{importer.AnnotationMaxTags: "3"})
	all := repoImport("all", nil)
	semver := repoImport("semver", map[string]string{importer.AnnotationSemver: ">=1.1, <2.1", importer.AnnotationExclude: "^2"})
	newest := repoImport("newest", map[string]string{importer.AnnotationNewest: "2", importer.AnnotationInclude: `^[a-z]`})
	sum := e.streams(t, streamimport.Options{}, capped, all, semver, newest)
	if len(sum.Failures) != 0 {
		t.Fatalf("failures %+v", sum.Failures)
	}
	tags := func(isi *imagev1.ImageStreamImport) string {
		var out []string
		for _, st := range isi.Status.Repository.Images {
			wantStatus(t, isi.Name+" "+st.Tag, st.Status, metav1.StatusSuccess, "", 0)
			out = append(out, st.Tag)
		}
		return strings.Join(out, " ")
	}
	if got := tags(capped); got != "latest v2.1 2.0" || strings.Join(capped.Status.Repository.AdditionalTags, " ") != "1.1 1.0 bar foo" {
		t.Errorf("capped: %s + %v", got, capped.Status.Repository.AdditionalTags)
	}
	if got := tags(all); got != "latest v2.1 2.0 1.1 1.0 bar foo" || len(all.Status.Repository.AdditionalTags) != 0 {
		t.Errorf("uncapped: %s + %v", got, all.Status.Repository.AdditionalTags)
	}
	if got := tags(semver); got != "1.1" {
		t.Errorf("semver >=1.1 <2.1 without ^2: %s", got)
	}
	if got := tags(newest); got != "bar foo" { // latest, foo and bar; bar and foo were pushed last
		t.Errorf("newest 2 of [a-z]: %s", got)
	}
	wantStatus(t, "repository", capped.Status.Repository.Status, metav1.StatusSuccess, "", 0)
	if is := capped.Status.Import; len(is.Spec.Tags) != 3 || is.Spec.Tags[0].From.Name != host+"/team/many:2.0" {
		t.Errorf("capped stream spec tags: %+v", is.Spec.Tags)
	}
}

func TestStreamImportPreviewWritesNothing(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 3})
	ctx := context.Background()
	rv, _ := e.cat.ResourceVersion(ctx)
	isi := isiOf("app", false, fromImage(host+"/team/app:v1"))
	isi.Spec.Images[0].ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
	sum := e.streams(t, streamimport.Options{}, isi)
	if sum.RunID != 0 || len(sum.Failures) != 0 {
		t.Fatalf("preview: %+v", sum)
	}
	st := isi.Status.Images[0]
	if st.Image == nil || len(st.Manifests) != 2 || isi.Status.Import != nil || st.Image.UID != "" {
		t.Fatalf("preview status: %+v", st)
	}
	if rv2, _ := e.cat.ResourceVersion(ctx); rv2 != rv {
		t.Errorf("a preview moved the resourceVersion %d -> %d", rv, rv2)
	}
	if runs, _ := e.cat.Runs(ctx, 10); len(runs) != 0 {
		t.Errorf("a preview recorded runs: %+v", runs)
	}
	if ok, _ := e.cat.HasImage(ctx, st.Image.Name); ok {
		t.Error("a preview stored an image")
	}
}

func TestStreamImportLegacyAndPreserveOriginal(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	list := e.push(t, testregistry.ImageSpec{Repository: "team/multi", Tags: []string{"v1"}, Format: testregistry.DockerList, Seed: 4})
	amd64, arm64 := list.Children[0], list.Children[1]
	linux := streamimport.Options{Platform: catalog.Platform{Architecture: "amd64", OS: "linux"}}
	ctx := context.Background()

	legacy := isiOf("legacy", true, fromImage(host+"/team/multi:v1"))
	e.streams(t, linux, legacy) // prefer-arch: see TestLegacyPicksAsOpenShift
	if st := legacy.Status.Images[0]; st.Image.Name != amd64.Digest.String() || st.Manifests != nil {
		t.Errorf("Legacy picked %s (%d manifests), want linux/amd64 %s", st.Image.Name, len(st.Manifests), amd64.Digest)
	}
	if ok, _ := e.cat.HasImage(ctx, list.Digest.String()); ok {
		t.Error("Legacy stored the list")
	}
	if got, _ := e.cat.TagImage(ctx, host+"/team/multi", "v1"); got != "" {
		t.Errorf("Legacy recorded the registry tag as %s, which names the list", got)
	}

	whole := isiOf("whole", true, fromImage(host+"/team/multi:v1"))
	whole.Spec.Images[0].ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
	e.streams(t, streamimport.Options{}, whole)
	st := whole.Status.Images[0]
	if st.Image.Name != list.Digest.String() || len(st.Manifests) != 2 || st.Manifests[1].Name != arm64.Digest.String() ||
		st.Manifests[1].DockerImageReference != host+"/team/multi@"+arm64.Digest.String() || len(st.Image.DockerImageManifests) != 2 {
		t.Fatalf("PreserveOriginal: %+v", st)
	}
	if ev := whole.Status.Import.Status.Tags[0].Items[0]; ev.Image != list.Digest.String() {
		t.Errorf("PreserveOriginal tag event names %s, want the list", ev.Image)
	}
	checkImage(t, e.cat, host+"/team/multi", list)
}

func TestStreamImportFailuresAsOpenShiftReportsThem(t *testing.T) {
	var failTag atomic404
	e := newEnv(t, testregistry.WithMiddleware(failTag.middleware))
	host := e.reg.Host()
	e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1", "v2"}, Format: testregistry.Schema2, Seed: 5})
	failTag.path = "/v2/team/app/manifests/v2"

	missing := fromImage(host + "/team/app:nope")
	hex := fromImage(strings.Repeat("ab", 32)) // valid for OpenShift's grammar, not a repository name
	hex.To = &corev1.LocalObjectReference{Name: "hex"}
	isi := isiOf("app", true, missing, hex)
	isi.Spec.Repository = &imagev1.RepositoryImportSpec{From: corev1.ObjectReference{Kind: "DockerImage", Name: host + "/team/app"}}
	unknownRepo := isiOf("gone", true)
	unknownRepo.Spec.Repository = &imagev1.RepositoryImportSpec{From: corev1.ObjectReference{Kind: "DockerImage", Name: host + "/team/none"}}
	sum := e.streams(t, streamimport.Options{}, isi, unknownRepo)

	st := isi.Status.Images[0]
	wantStatus(t, "missing tag", st.Status, metav1.StatusFailure, metav1.StatusReasonNotFound, http.StatusNotFound)
	if want := `dockerimage.image.openshift.io "` + host + `/team/app:nope" not found`; st.Status.Message != want || st.Tag != "nope" {
		t.Errorf("missing tag: %q tag %q, want %q", st.Status.Message, st.Tag, want)
	}
	st = isi.Status.Images[1]
	wantStatus(t, "bad reference", st.Status, metav1.StatusFailure, metav1.StatusReasonInvalid, http.StatusUnprocessableEntity)
	if st.Status.Details == nil || len(st.Status.Details.Causes) != 1 || st.Status.Details.Causes[0].Field != "from.name" ||
		!strings.Contains(st.Status.Message, "invalid name: ") {
		t.Errorf("bad reference: %+v", st.Status)
	}
	rs := isi.Status.Repository
	wantStatus(t, "repository", rs.Status, metav1.StatusFailure, "ImportFailed", 0)
	if rs.Status.Message != "one of the images from this repository failed to import" || len(rs.Images) != 2 {
		t.Errorf("repository: %+v", rs)
	}
	wantStatus(t, "repository v1", rs.Images[0].Status, metav1.StatusSuccess, "", 0)
	wantStatus(t, "repository v2", rs.Images[1].Status, metav1.StatusFailure, metav1.StatusReasonNotFound, http.StatusNotFound)
	wantStatus(t, "unknown repository", unknownRepo.Status.Repository.Status, metav1.StatusFailure, metav1.StatusReasonNotFound, http.StatusNotFound)
	if len(sum.Failures) != 4 {
		t.Errorf("failures: %+v", sum.Failures)
	}

	// The failed tags are ImportSuccess=False with the reason; the good one imported.
	is := isi.Status.Import
	conds := map[string]imagev1.TagEventCondition{}
	for _, tag := range is.Status.Tags {
		for _, c := range tag.Conditions {
			conds[tag.Tag] = c
		}
	}
	if c := conds["nope"]; c.Type != imagev1.ImportSuccess || c.Status != corev1.ConditionFalse || c.Reason != "NotFound" || c.Generation != 1 {
		t.Errorf("condition of nope: %+v", conds)
	}
	if c := conds["hex"]; c.Reason != "Invalid" {
		t.Errorf("condition of hex: %+v", c)
	}
	if c := conds["v2"]; c.Reason != "NotFound" {
		t.Errorf("condition of v2: %+v", c)
	}

	// The same failures again change nothing.
	rv := is.ResourceVersion
	again := isiOf("app", true, fromImage(host+"/team/app:nope"), hex)
	again.Spec.Repository = isi.Spec.Repository.DeepCopy()
	e.streams(t, streamimport.Options{}, again)
	if again.Status.Import.ResourceVersion != rv {
		t.Errorf("the same failures moved the stream's resourceVersion %s -> %s", rv, again.Status.Import.ResourceVersion)
	}
}

// atomic404 answers 404 for one path (set before the first import).
type atomic404 struct{ path string }

func (a *atomic404) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.path != "" && r.URL.Path == a.path && !testregistry.IsSeedRequest(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func TestStreamImportInsecurePolicy(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 6})
	secure, err := importer.New(importer.Options{Catalog: e.cat, Registry: registry.New(registry.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	plain := fromImage(host + "/team/app:v1")
	insecure := fromImage(host + "/team/app:v1")
	insecure.ImportPolicy.Insecure = true
	isi := isiOf("app", false, plain, insecure)
	if _, err := streamimport.Import(context.Background(), secure, []*imagev1.ImageStreamImport{isi}, streamimport.Options{InsecureRegistry: newClient()}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "HTTP-only without insecure", isi.Status.Images[0].Status, metav1.StatusFailure, metav1.StatusReasonBadRequest, http.StatusBadRequest)
	if want := "the repository " + host + "/team/app is HTTP only and requires the insecure flag to import"; isi.Status.Images[0].Status.Message != want {
		t.Errorf("message %q, want %q", isi.Status.Images[0].Status.Message, want)
	}
	wantStatus(t, "importPolicy.insecure", isi.Status.Images[1].Status, metav1.StatusSuccess, "", 0)
}

func TestStreamImportTagEventsMergeOnReimport(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	ctx := context.Background()
	first := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 7})
	run := func() *imagev1.ImageStream {
		isi := isiOf("app", true, fromImage(host+"/team/app:v1"))
		e.streams(t, streamimport.Options{}, isi)
		return isi.Status.Import
	}
	is1 := run()
	is2 := run()
	if is2.ResourceVersion != is1.ResourceVersion || len(is2.Status.Tags[0].Items) != 1 {
		t.Errorf("an unchanged tag changed the stream: rv %s -> %s, %d events", is1.ResourceVersion, is2.ResourceVersion, len(is2.Status.Tags[0].Items))
	}
	moved := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 8})
	is3 := run()
	items := is3.Status.Tags[0].Items
	if len(items) != 2 || items[0].Image != moved.Digest.String() || items[1].Image != first.Digest.String() || items[0].Generation != 2 || items[1].Generation != 1 {
		t.Fatalf("moved tag events: %+v", items)
	}
	if is3.Generation != 2 || *is3.Spec.Tags[0].Generation != 2 || is3.ResourceVersion == is1.ResourceVersion {
		t.Errorf("after a move: generation %d, spec tag generation %d, rv %s", is3.Generation, *is3.Spec.Tags[0].Generation, is3.ResourceVersion)
	}
	if !items[0].Created.After(time.Time{}) {
		t.Error("tag event without a time")
	}
	stored, _ := e.cat.GetImageStream(ctx, "team", "app")
	if len(stored.Status.Tags[0].Items) != 2 {
		t.Errorf("catalog holds %d events", len(stored.Status.Tags[0].Items))
	}
}

func TestStreamImportRefusesInvalidDocuments(t *testing.T) {
	e := newEnv(t)
	bad := isiOf("Bad_Name", true, imagev1.ImageImportSpec{From: corev1.ObjectReference{Kind: "ImageStreamTag", Name: "x:y"}})
	bad.Namespace = ""
	_, err := streamimport.Import(context.Background(), e.imp, []*imagev1.ImageStreamImport{isiOf("ok", true, fromImage("a/b:c")), bad}, streamimport.Options{})
	if !errors.Is(err, streamimport.ErrInvalid) {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{
		`spec.images[0].from.kind: Invalid value: "ImageStreamTag": only DockerImage is supported`,
		`metadata.namespace: Required value`,
		`metadata.name: Invalid value: "Bad_Name": must match "[a-z0-9]+(?:[._-][a-z0-9]+)*"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if runs, _ := e.cat.Runs(context.Background(), 10); len(runs) != 0 {
		t.Errorf("an invalid batch recorded a run")
	}
}

func TestStreamImportInterruptedWritesNoHalfDocument(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 9})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	isi := isiOf("app", true, fromImage(host+"/team/app:v1"))
	sum, err := streamimport.Import(ctx, e.imp, []*imagev1.ImageStreamImport{isi}, streamimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Interrupted || len(sum.Failures) != 2 || !strings.Contains(sum.Failures[1].Reason, "interrupted") {
		t.Fatalf("summary %+v", sum)
	}
	if _, err := e.cat.GetImageStream(context.Background(), "team", "app"); err == nil {
		t.Error("an interrupted document was stored")
	}
	if runs, _ := e.cat.Runs(context.Background(), 1); len(runs) != 1 || runs[0].Status != "interrupted" {
		t.Errorf("run recorded as %+v", runs)
	}
}
