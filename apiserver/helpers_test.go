package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// fixture is a catalog file with a writer (as `regimport import` holds) and
// a read-only handle on the same file (as `regimport serve` holds).
type fixture struct {
	path   string
	writer catalog.Catalog
	reader catalog.Catalog
}

func newFixture(t *testing.T, images int) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{path: dbtest.New(t)}
	var err error
	if f.writer, err = catalogdb.Open(ctx, f.path, catalog.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.writer.Close() })
	recs := make([]catalog.ImageRecord, images)
	for i := range recs {
		recs[i] = testImage(i)
	}
	f.put(t, recs...)
	if f.reader, err = catalogdb.Open(ctx, f.path, catalog.Options{ReadOnly: true}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.reader.Close() })
	return f
}

// put writes images through the catalog's writer and waits for the commit.
func (f *fixture) put(t testing.TB, recs ...catalog.ImageRecord) {
	t.Helper()
	ctx := context.Background()
	w, err := f.writer.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, len(recs))
	for i, rec := range recs {
		if err := w.PutImage(ctx, rec, func(_ catalog.Outcome, err error) { errs[i] = err }); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("image %d: %v", i, err)
		}
	}
}

// testImage is a small single-platform image; every fifth is a manifest
// list and every seventh carries a signature verdict.
func testImage(i int) catalog.ImageRecord {
	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","n":%d}`, i)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"n":%d}`, i)
	meta, _ := json.Marshal(docker10.DockerImage{TypeMeta: metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"},
		ID: digest.FromString(config).String(), Architecture: "amd64", Size: int64(1000 + i),
		Created: metav1.NewTime(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second))})
	name := digest.FromString(manifest).String()
	img := &imagev1.Image{
		ObjectMeta:                   metav1.ObjectMeta{Name: name, Annotations: map[string]string{imagev1.DockerImageLayersOrderAnnotation: "ascending"}},
		DockerImageReference:         "registry.example.com/app@" + name,
		DockerImageMetadata:          runtime.RawExtension{Raw: meta},
		DockerImageMetadataVersion:   "1.0",
		DockerImageManifest:          manifest,
		DockerImageConfig:            config,
		DockerImageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
		DockerImageLayers: []imagev1.ImageLayer{
			{Name: digest.FromString("base").String(), LayerSize: 10, MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"},
			{Name: digest.FromString(fmt.Sprint("top", i)).String(), LayerSize: int64(i), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"},
		},
	}
	rec := catalog.ImageRecord{Image: img, ConfigMediaType: "application/vnd.oci.image.config.v1+json", OS: "linux"}
	if i%7 == 3 {
		img.Annotations[catalog.AnnotationSignatureVerdict] = "accepted"
	}
	if i%5 == 4 {
		img.Annotations = nil
		// Id = the list's digest, as manifestListToImage makes it (no
		// Created here: the table tests want its column empty)
		listMeta, _ := json.Marshal(docker10.DockerImage{TypeMeta: metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"}, ID: name})
		img.DockerImageMetadata = runtime.RawExtension{Raw: listMeta}
		img.DockerImageConfig, img.DockerImageLayers, rec.ConfigMediaType = "", nil, ""
		img.DockerImageManifestMediaType = "application/vnd.oci.image.index.v1+json"
		img.DockerImageManifests = []imagev1.ImageManifest{
			{Digest: digest.FromString(fmt.Sprint("amd64-", i)).String(), MediaType: "application/vnd.oci.image.manifest.v1+json", ManifestSize: 500, Architecture: "amd64", OS: "linux"},
			{Digest: digest.FromString(fmt.Sprint("arm64-", i)).String(), MediaType: "application/vnd.oci.image.manifest.v1+json", ManifestSize: 501, Architecture: "arm64", OS: "linux", Variant: "v8"},
		}
	}
	return rec
}

// serve starts the handler on loopback for reader r.
func serve(t *testing.T, r Reader, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	if opts.WatchPollInterval == 0 {
		opts.WatchPollInterval = 20 * time.Millisecond
	}
	if opts.ResourceVersionWait == 0 {
		opts.ResourceVersionWait = 200 * time.Millisecond
	}
	s, err := New(r, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		s.StopWatches()
		ts.Close()
	})
	return s, ts
}

// request sends one request and returns the status and body.
func request(t testing.TB, method, url string, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	code, _, b := request(t, http.MethodGet, url, nil)
	return code, b
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, b)
	}
	return v
}

// allNames lists every image name of the catalog, in name order.
func allNames(t testing.TB, c catalog.Catalog) []string {
	t.Helper()
	page, err := c.ListImages(context.Background(), catalog.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(page.Items))
	for i, img := range page.Items {
		names[i] = img.Name
	}
	return names
}

const imagesPath = "/apis/image.openshift.io/v1/images"
