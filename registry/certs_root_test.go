package registry

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// Without CertsDirs, a host's certs.d directory is looked up where
// containers/image looks: Sys.DockerPerHostCertDirPath, else
// /etc/containers/certs.d and /etc/docker/certs.d under
// Sys.RootForImplicitAbsolutePaths (regimport's --config-root).
func TestDefaultCertsDirsFollowTheSystemContext(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/manifests/v1") {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			w.Write([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`))
		}
	}))
	defer srv.Close()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	host := strings.TrimPrefix(srv.URL, "https://")
	named, _ := reference.ParseNormalizedNamed(host + "/team/app")
	get := func(sys *types.SystemContext) error {
		repo, err := New(Options{Sys: sys, MaxRetries: 1}).Repository(named)
		if err != nil {
			return err
		}
		_, err = repo.GetManifest(context.Background(), "v1")
		return err
	}
	trusting := func(certsD string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(certsD, host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(certsD, host, "ca.crt"), ca, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, dir := range []string{"etc/containers/certs.d", "etc/docker/certs.d"} {
		root := t.TempDir()
		trusting(filepath.Join(root, dir))
		if err := get(&types.SystemContext{RootForImplicitAbsolutePaths: root}); err != nil {
			t.Errorf("with %s under the root: %v", dir, err)
		}
	}
	perHost := t.TempDir()
	trusting(perHost)
	if err := get(&types.SystemContext{DockerPerHostCertDirPath: perHost}); err != nil {
		t.Errorf("with DockerPerHostCertDirPath: %v", err)
	}
	if err := get(&types.SystemContext{RootForImplicitAbsolutePaths: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("with an empty root: %v, want a certificate error", err)
	}
}
