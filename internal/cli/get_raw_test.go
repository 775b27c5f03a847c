package cli

import (
	"encoding/json"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/internal/dbtest"
	"sigs.k8s.io/yaml"
)

// get prints Images as OpenShift serves them, without the raw manifest and
// config, unless --include-manifest asks; the catalog keeps both.
func TestGetIncludeManifest(t *testing.T) {
	reg := startRegistry(t)
	db := dbtest.New(t)
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", reg.Host()+"/team/app:v0", reg.Host()+"/team/app:v2"); code != ExitOK {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	list := func(args ...string) imagev1.ImageList {
		t.Helper()
		code, out, errOut := runCLI(t, append([]string{"get", "images", "--db", db, "-o", "json"}, args...)...)
		var l imagev1.ImageList
		if err := json.Unmarshal([]byte(out), &l); code != ExitOK || err != nil {
			t.Fatalf("get: %d %v\n%s", code, err, errOut)
		}
		return l
	}
	plain, raw := list(), list("--include-manifest")
	// v0 (schema2) and v2 (an OCI index with its two children).
	if len(plain.Items) != 4 || len(raw.Items) != 4 {
		t.Fatalf("%d and %d images", len(plain.Items), len(raw.Items))
	}
	configs := 0
	for i := range plain.Items {
		if plain.Items[i].DockerImageManifest != "" || plain.Items[i].DockerImageConfig != "" {
			t.Errorf("get -o json: %s carries raw content", plain.Items[i].Name)
		}
		if raw.Items[i].DockerImageManifest == "" {
			t.Errorf("get -o json --include-manifest: %s without its manifest", raw.Items[i].Name)
		}
		if raw.Items[i].DockerImageConfig != "" {
			configs++
		}
	}
	if configs != 3 {
		t.Errorf("%d images with a config under --include-manifest, want 3 (all but the index)", configs)
	}

	name := plain.Items[0].Name
	for _, withRaw := range []bool{false, true} {
		args := []string{"get", "images", name, "--db", db, "-o", "yaml"}
		if withRaw {
			args = append(args, "--include-manifest")
		}
		code, out, errOut := runCLI(t, args...)
		var img imagev1.Image
		if err := yaml.Unmarshal([]byte(out), &img); code != ExitOK || err != nil || img.Name != name {
			t.Fatalf("get %s: %d %v\n%s", name, code, err, errOut)
		}
		if (img.DockerImageManifest != "") != withRaw || strings.Contains(out, "dockerImageManifest:") != withRaw {
			t.Errorf("get -o yaml %s (--include-manifest=%v): manifest %q", name, withRaw, img.DockerImageManifest)
		}
	}
}
