package apiserver

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// The real kubectl explains the served kinds from /openapi/v3, with the
// documentation openshift/api carries for each field.
func TestKubectlExplain(t *testing.T) {
	f := newFixture(t, 1)
	_, ts := serve(t, f.reader, Options{})

	out := runKubectl(t, ts.URL, "explain", "images.image.openshift.io.dockerImageMetadata")
	for _, want := range []string{"GROUP:      image.openshift.io", "KIND:       Image", "FIELD: dockerImageMetadata",
		"dockerImageMetadata contains metadata about this image"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl explain lacks %q:\n%s", want, out)
		}
	}
	out = runKubectl(t, ts.URL, "explain", "imagestreams.spec.tags")
	if !strings.Contains(out, "KIND:       ImageStream") || !strings.Contains(out, "importPolicy") {
		t.Errorf("kubectl explain imagestreams.spec.tags:\n%s", out)
	}
}

// /openapi/v2 and /openapi/v3 are kube-apiserver's documents: a v3
// discovery that names the group version with its hash, the group version's
// schemas with x-kubernetes-group-version-kind, v2 as JSON or protobuf.
func TestOpenAPIDocuments(t *testing.T) {
	f := newFixture(t, 1)
	_, ts := serve(t, f.reader, Options{})

	code, b := get(t, ts.URL+"/openapi/v3")
	var disc struct {
		Paths map[string]struct {
			ServerRelativeURL string `json:"serverRelativeURL"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &disc); err != nil || code != http.StatusOK {
		t.Fatalf("v3 discovery: %d %v\n%s", code, err, b)
	}
	gv, ok := disc.Paths["apis/image.openshift.io/v1"]
	if !ok || !strings.HasPrefix(gv.ServerRelativeURL, "/openapi/v3/apis/image.openshift.io/v1?hash=") {
		t.Fatalf("v3 discovery paths: %s", b)
	}
	code, b = get(t, ts.URL+gv.ServerRelativeURL)
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]struct {
				Description string           `json:"description"`
				GVK         []map[string]any `json:"x-kubernetes-group-version-kind"`
				Properties  map[string]struct {
					Description string `json:"description"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || code != http.StatusOK {
		t.Fatalf("v3 group version: %d %v", code, err)
	}
	img, ok := doc.Components.Schemas["com.github.openshift.api.image.v1.Image"]
	if !strings.HasPrefix(doc.OpenAPI, "3.") || !ok || len(img.GVK) != 1 || img.GVK[0]["kind"] != "Image" || img.GVK[0]["group"] != "image.openshift.io" {
		t.Fatalf("v3 Image schema: %+v", img)
	}
	if d := img.Properties["dockerImageManifest"].Description; !strings.Contains(d, "raw JSON of the manifest") {
		t.Errorf("dockerImageManifest is documented as %q", d)
	}
	if _, ok := doc.Components.Schemas["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]; !ok {
		t.Error("referenced ObjectMeta missing")
	}

	code, b = get(t, ts.URL+"/openapi/v2")
	var v2 struct {
		Swagger     string                     `json:"swagger"`
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(b, &v2); err != nil || code != http.StatusOK || v2.Swagger != "2.0" || v2.Definitions["com.github.openshift.api.image.v1.ImageStream"] == nil {
		t.Fatalf("v2: %d %v swagger %q", code, err, v2.Swagger)
	}
	code, hdr, pb := request(t, http.MethodGet, ts.URL+"/openapi/v2", map[string]string{"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"})
	if code != http.StatusOK || !strings.Contains(hdr.Get("Content-Type"), "protobuf") || len(pb) == 0 {
		t.Errorf("v2 protobuf: %d %s", code, hdr.Get("Content-Type"))
	}
}
