package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
	corev1 "k8s.io/api/core/v1"
)

// OpenShift's calculateImageSize (importer.go): a schema1 image whose
// v1Compatibility has no sizes gets each unique blob's size from the
// registry, on every layer, and Size is their sum.
func TestSchema1SizesAskedOfTheRegistry(t *testing.T) {
	e := newEnv(t)
	p := e.push(t, testregistry.ImageSpec{Repository: "legacy/nosize", Tags: []string{"v1"}, Format: testregistry.Schema1, Seed: 7, Schema1WithoutSizes: true})
	ref := e.reg.Host() + "/legacy/nosize:v1"
	if s := e.run(t, importer.Request{References: []string{ref}}); len(s.Failures) != 0 {
		t.Fatalf("failures: %+v", s.Failures)
	}
	img, err := e.cat.GetImage(context.Background(), p.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(img.DockerImageLayers) != len(p.Layers) {
		t.Fatalf("%d layers, pushed %d", len(img.DockerImageLayers), len(p.Layers))
	}
	var want int64
	seen := map[string]bool{}
	for i, l := range p.Layers {
		got := img.DockerImageLayers[i]
		if got.Name != l.Digest.String() || got.LayerSize != l.Size || l.Size == 0 {
			t.Errorf("layer %d: %s size %d, want %s size %d", i, got.Name, got.LayerSize, l.Digest, l.Size)
		}
		if !seen[l.Digest.String()] {
			seen[l.Digest.String()] = true
			want += l.Size
		}
	}
	var meta docker10.DockerImage
	if err := json.Unmarshal(img.DockerImageMetadata.Raw, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.Size != want || want == 0 {
		t.Errorf("Size %d, want %d, the sum of %d unique layers", meta.Size, want, len(seen))
	}
}

// mirrorEnv is an env whose registry client sends docker.io/team/* to the
// test registry (registries.conf location), so that a reference the user
// writes without a registry, as for Docker Hub, can be imported.
func mirrorEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	conf := filepath.Join(t.TempDir(), "registries.conf")
	body := fmt.Sprintf("[[registry]]\nprefix = \"docker.io/team\"\nlocation = \"%s/team\"\ninsecure = true\n", e.reg.Host())
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	client := registry.New(registry.Options{Sys: &types.SystemContext{SystemRegistriesConfPath: conf, DockerInsecureSkipTLSVerify: types.OptionalBoolTrue}})
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: client, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	e.imp = imp
	return e
}

// OpenShift keeps the reference as the user wrote it (library-go's
// reference.Parse, then Exact(); importImages and importSuccessful):
// "team/app" stays team/app, never docker.io/team/app, in the Image, the
// ImageStreamImport status and the tag event. The catalog still finds the
// tag under the normalized name, so a re-run costs one HEAD.
func TestReferencesKeepTheUsersSpelling(t *testing.T) {
	e := mirrorEnv(t)
	ctx := context.Background()
	p := e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1", "v2"}, Format: testregistry.Schema2, Seed: 3})
	if s := e.run(t, importer.Request{References: []string{"team/app:v1"}}); len(s.Failures) != 0 {
		t.Fatalf("failures: %+v", s.Failures)
	}
	img, err := e.cat.GetImage(ctx, p.Digest.String())
	if err != nil {
		t.Fatal(err)
	}
	if want := "team/app@" + p.Digest.String(); img.DockerImageReference != want {
		t.Errorf("dockerImageReference %q, want %q", img.DockerImageReference, want)
	}
	if got, _ := e.cat.TagImage(ctx, "docker.io/team/app", "v1"); got != p.Digest.String() {
		t.Errorf("tag lookup under the normalized name: %q", got)
	}
	e.reg.ResetRequests()
	again := e.run(t, importer.Request{References: []string{"team/app:v1"}})
	if again.ImagesCreated != 0 || len(again.Failures) != 0 {
		t.Errorf("re-run created %d, failures %v", again.ImagesCreated, again.Failures)
	}
	if n := e.reg.Requests().Get(testregistry.KindManifestGet); n != 0 {
		t.Errorf("re-run fetched %d manifests, want none (one HEAD)", n)
	}

	isi := isiOf("app", true, fromImage("team/app:v2"))
	e.streams(t, streamimport.Options{}, isi)
	st := isi.Status.Images[0]
	if want := "team/app@" + p.Digest.String(); st.Image == nil || st.Image.DockerImageReference != want {
		t.Fatalf("status image %+v, want reference %s", st.Image, want)
	}
	tags := isi.Status.Import.Status.Tags
	if len(tags) != 1 || len(tags[0].Items) != 1 || tags[0].Items[0].DockerImageReference != "team/app@"+p.Digest.String() {
		t.Errorf("tag events %+v", tags)
	}
}

// OpenShift's manifestFromManifestList: Legacy picks the apiserver's own
// platform, else linux/amd64, else the first entry; preferences come only
// from the image stream's spec tag annotations, and never for a digest.
func TestLegacyPicksAsOpenShift(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	ctx := context.Background()
	list := e.push(t, testregistry.ImageSpec{Repository: "team/multi", Tags: []string{"v1"}, Format: testregistry.DockerList, Seed: 4,
		Platforms: []testregistry.Platform{{Architecture: "s390x", OS: "linux"}, {Architecture: "arm64", OS: "linux"}, {Architecture: "amd64", OS: "linux"}}})
	s390x, arm64, amd64 := list.Children[0], list.Children[1], list.Children[2]
	odd := e.push(t, testregistry.ImageSpec{Repository: "team/odd", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 5,
		Platforms: []testregistry.Platform{{Architecture: "ppc64le", OS: "linux"}, {Architecture: "riscv64", OS: "linux"}}})

	pick := func(opts streamimport.Options, isi *imagev1.ImageStreamImport) string {
		t.Helper()
		e.streams(t, opts, isi)
		if st := isi.Status.Images[0]; st.Image != nil {
			return st.Image.Name
		}
		t.Fatalf("%s: %+v", isi.Name, isi.Status.Images[0].Status)
		return ""
	}
	arm := streamimport.Options{Platform: catalog.Platform{Architecture: "arm64", OS: "linux"}}
	if got := pick(arm, isiOf("host", false, fromImage(host+"/team/multi:v1"))); got != arm64.Digest.String() {
		t.Errorf("on an arm64 apiserver Legacy picked %s, want arm64 %s", got, arm64.Digest)
	}
	mips := streamimport.Options{Platform: catalog.Platform{Architecture: "mips64le", OS: "linux"}}
	if got := pick(mips, isiOf("fallback", false, fromImage(host+"/team/multi:v1"))); got != amd64.Digest.String() {
		t.Errorf("without a match Legacy picked %s, want linux/amd64 %s", got, amd64.Digest)
	}
	if got := pick(mips, isiOf("first", false, fromImage(host+"/team/odd:v1"))); got != odd.Children[0].Digest.String() {
		t.Errorf("without linux/amd64 Legacy picked %s, want the first %s", got, odd.Children[0].Digest)
	}
	// ImageStreamImport annotations are not preferences.
	annotated := isiOf("annotated", false, fromImage(host+"/team/multi:v1"))
	annotated.Annotations = map[string]string{imagev1.ImporterPreferArchAnnotation: "s390x"}
	if got := pick(arm, annotated); got != arm64.Digest.String() {
		t.Errorf("ImageStreamImport annotations chose %s", got)
	}

	// The stream's spec tag annotations are.
	w, err := e.cat.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = w.PutImageStream(ctx, catalog.StreamUpdate{Namespace: "team", Name: "pref", Apply: func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
		return &imagev1.ImageStream{Spec: imagev1.ImageStreamSpec{Tags: []imagev1.TagReference{
			{Name: "v1", Annotations: map[string]string{imagev1.ImporterPreferArchAnnotation: "s390x"}},
			{Name: "pinned", Annotations: map[string]string{imagev1.ImporterPreferArchAnnotation: "s390x"}},
		}}}, nil
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pick(arm, isiOf("pref", false, fromImage(host+"/team/multi:v1"))); got != s390x.Digest.String() {
		t.Errorf("spec tag v1 prefers s390x; Legacy picked %s", got)
	}
	byDigest := isiOf("pref", false, fromImage(host+"/team/multi@"+list.Digest.String()))
	byDigest.Spec.Images[0].To = &corev1.LocalObjectReference{Name: "pinned"}
	if got := pick(arm, byDigest); got != arm64.Digest.String() {
		t.Errorf("a digest import took the spec tag's preference: %s", got)
	}
}

// A config OpenShift cannot parse (history[].created is no time) is
// imported, marked with the annotation and logged, not refused.
func TestNonconformingConfigImportedAndMarked(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	imp, err := importer.New(importer.Options{Catalog: e.cat, Registry: newClient(), Concurrency: 2, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.imp = imp
	layer := []byte("not really a tar")
	cfg := []byte(`{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","history":[{"created":"last tuesday"}]}`)
	m := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":%d,"digest":%q},`+
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":%d,"digest":%q}]}`,
		len(cfg), digest.FromBytes(cfg), len(layer), digest.FromBytes(layer)))
	if err := e.reg.PushRaw(context.Background(), "odd/config", "v1", "application/vnd.oci.image.manifest.v1+json", m, cfg, layer); err != nil {
		t.Fatal(err)
	}
	if s := e.run(t, importer.Request{References: []string{e.reg.Host() + "/odd/config:v1"}}); len(s.Failures) != 0 || s.ImagesCreated != 1 {
		t.Fatalf("summary %+v", s)
	}
	img, err := e.cat.GetImage(context.Background(), digest.FromBytes(m).String())
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Annotations[importer.NonconformingAnnotation]; !strings.Contains(got, "config does not parse as OpenShift's DockerImageConfig") {
		t.Errorf("annotation %q", got)
	}
	if !strings.Contains(logs.String(), "accepted a manifest OpenShift's importer refuses") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}

// OpenShift's rule for raw content in an ImageStreamImport status
// (imagestreamimport's clearManifests and PrepareImageForCreate): the
// status image keeps it only under includeManifest and only where no Image
// was created; a list Image never has it (manifestListToImage); the
// children in manifests keep theirs wherever nothing was created.
func TestStreamImportRawContentRule(t *testing.T) {
	e := newEnv(t)
	host := e.reg.Host()
	e.push(t, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 1})
	e.push(t, testregistry.ImageSpec{Repository: "team/multi", Tags: []string{"v1"}, Format: testregistry.OCIIndex, Seed: 2})
	asked := fromImage(host + "/team/app:v1")
	asked.IncludeManifest = true
	whole := fromImage(host + "/team/multi:v1")
	whole.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
	wholeAsked := whole
	wholeAsked.IncludeManifest = true
	preview := isiOf("preview", false, fromImage(host+"/team/app:v1"), asked, whole, wholeAsked)
	e.streams(t, streamimport.Options{}, preview)

	raw := func(img *imagev1.Image) bool { return img.DockerImageManifest != "" }
	st := preview.Status.Images
	if raw(st[0].Image) || !raw(st[1].Image) || st[1].Image.DockerImageConfig == "" {
		t.Errorf("preview: raw content %v without includeManifest, %v with it", raw(st[0].Image), raw(st[1].Image))
	}
	for i := 2; i < 4; i++ {
		if raw(st[i].Image) || len(st[i].Manifests) != 2 || !raw(&st[i].Manifests[0]) || !raw(&st[i].Manifests[1]) {
			t.Errorf("preview of a whole list [%d]: list raw %v, %d children", i, raw(st[i].Image), len(st[i].Manifests))
		}
	}

	created := fromImage(host + "/team/multi:v1")
	created.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
	created.IncludeManifest = true
	created.To = &corev1.LocalObjectReference{Name: "stable"}
	imported := isiOf("imported", true, created)
	e.streams(t, streamimport.Options{}, imported)
	if s := imported.Status.Images[0]; s.Image == nil || raw(s.Image) || len(s.Manifests) != 2 || raw(&s.Manifests[0]) || raw(&s.Manifests[1]) {
		t.Errorf("created Images carry raw content: %+v", s.Status)
	}
}
