// Package testimages makes the catalog records the backends' own tests
// write: numbered images, and a helper that puts records through a Writer.
package testimages

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/openshift/api/image/docker10"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Image is the i-th test image: a distinct manifest, config and top layer.
func Image(i int) catalog.ImageRecord {
	config := fmt.Sprintf(`{"architecture":"amd64","os":"linux","n":%d}`, i)
	manifest := fmt.Sprintf(`{"schemaVersion":2,"n":%d}`, i)
	meta, _ := json.Marshal(docker10.DockerImage{TypeMeta: metav1.TypeMeta{Kind: "DockerImage", APIVersion: "image.openshift.io/1.0"},
		ID: digest.FromString(config).String(), Architecture: "amd64", Size: int64(100 + i), Created: metav1.NewTime(time.Date(2024, 1, 1, 0, 0, i, 0, time.UTC))})
	name := digest.FromString(manifest).String()
	return catalog.ImageRecord{
		Image: &imagev1.Image{
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
		},
		ConfigMediaType: "application/vnd.oci.image.config.v1+json", OS: "linux",
	}
}

// Put writes records (catalog.ImageRecord, catalog.TagRecord) through a
// Writer, in batches of three, and returns their outcomes.
func Put(t *testing.T, c catalog.Catalog, ops ...any) []catalog.Outcome {
	t.Helper()
	return PutWith(t, c, catalog.WriterOptions{BatchSize: 3}, ops...)
}

// RemoveRepository is PutWith's operation for Writer.RemoveRepository (its
// outcome: Updated).
type RemoveRepository string

// PutWith is Put through a Writer made with opts; ops may also remove
// repositories. An operation that fails fails the test.
func PutWith(t *testing.T, c catalog.Catalog, opts catalog.WriterOptions, ops ...any) []catalog.Outcome {
	t.Helper()
	outs, errs := PutEach(t, c, opts, ops...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
	}
	return outs
}

// PutEach is PutWith that returns each operation's error instead of
// failing the test on it, for tests of an operation that fails.
func PutEach(t *testing.T, c catalog.Catalog, opts catalog.WriterOptions, ops ...any) ([]catalog.Outcome, []error) {
	t.Helper()
	ctx := context.Background()
	w, err := c.NewWriter(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	outs := make([]catalog.Outcome, len(ops))
	errs := make([]error, len(ops))
	for i, o := range ops {
		cb := func(out catalog.Outcome, err error) { outs[i], errs[i] = out, err }
		switch rec := o.(type) {
		case catalog.ImageRecord:
			err = w.PutImage(ctx, rec, cb)
		case catalog.TagRecord:
			err = w.PutTag(ctx, rec, cb)
		case RemoveRepository:
			err = w.RemoveRepository(ctx, string(rec), nil, func(_ []catalog.RemovedTag, err error) { cb(catalog.Updated, err) })
		default:
			t.Fatalf("op %d: %T is not an operation", i, o)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return outs, errs
}
