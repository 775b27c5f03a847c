package imageview

import (
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestColumns(t *testing.T) {
	single := &imagev1.Image{
		ObjectMeta:                   metav1.ObjectMeta{Annotations: map[string]string{"regimport.io/signature-verdict": "accepted"}},
		DockerImageMetadata:          runtime.RawExtension{Raw: []byte(`{"Architecture":"arm64","Size":1536,"Created":"2024-01-02T03:04:05Z"}`)},
		DockerImageManifestMediaType: "application/vnd.oci.image.manifest.v1+json",
		DockerImageLayers:            make([]imagev1.ImageLayer, 3),
	}
	c := Of(single)
	if c.Verdict != "accepted" || c.Platform != "arm64" || c.MediaType != "vnd.oci.image.manifest.v1+json" || c.Layers != 3 ||
		!c.Created.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) || HumanSize(c.Size) != "1.5KiB" {
		t.Errorf("single: %+v %s", c, HumanSize(c.Size))
	}
	list := &imagev1.Image{
		DockerImageMetadata:  runtime.RawExtension{Raw: []byte(`not json`)},
		DockerImageManifests: []imagev1.ImageManifest{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}},
	}
	if c := Of(list); c.Platform != "linux/amd64,linux/arm64/v8" || OrDash(c.Verdict) != "-" || HumanSize(c.Size) != "-" {
		t.Errorf("list: %+v", c)
	}
}
