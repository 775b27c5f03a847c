package apiserver

import (
	"os/exec"
	"strings"
	"testing"
)

// The endpoint reads the catalog and nothing else: no package of it may
// reach a registry (registry, importer, signatures fetchers).
func TestNoPathFromTheEndpointToARegistry(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "containers_image_openpgp", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, forbidden := range []string{
		"github.com/regimport/regimport/registry",
		"github.com/regimport/regimport/importer",
		"github.com/regimport/regimport/signatures",
		"go.podman.io/image/v5/docker",
	} {
		for _, dep := range strings.Fields(string(out)) {
			if dep == forbidden {
				t.Errorf("apiserver depends on %s", forbidden)
			}
		}
	}
}
