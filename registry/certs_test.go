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

// A registry behind a private CA is reached with --cert-dir and refused without it.
func TestCertDirTrustsAPrivateCA(t *testing.T) {
	const body = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/manifests/v1") {
			w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
			w.Write([]byte(body))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	os.WriteFile(filepath.Join(dir, "ca.crt"), ca, 0o644)
	host := strings.TrimPrefix(srv.URL, "https://")
	named, _ := reference.ParseNormalizedNamed(host + "/team/app")

	get := func(sys *types.SystemContext, certsDirs ...string) error {
		repo, err := New(Options{Sys: sys, MaxRetries: 1, CertsDirs: append([]string{}, certsDirs...)}).Repository(named)
		if err != nil {
			return err
		}
		_, err = repo.GetManifest(context.Background(), "v1")
		return err
	}
	if err := get(&types.SystemContext{DockerCertPath: dir}); err != nil {
		t.Fatalf("with --cert-dir: %v", err)
	}
	if err := get(&types.SystemContext{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v, want a certificate error", err)
	}
	if err := get(&types.SystemContext{DockerCertPath: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("an unreadable cert dir was ignored")
	}
	// A certs.d tree with a directory for this host:port, as podman and docker use.
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, host), 0o755)
	os.WriteFile(filepath.Join(root, host, "ca.crt"), ca, 0o644)
	if err := get(&types.SystemContext{}, root); err != nil {
		t.Fatalf("with certs.d/%s: %v", host, err)
	}
	if err := get(&types.SystemContext{}, t.TempDir()); err == nil {
		t.Fatal("a certs.d without this host trusted it anyway")
	}
}
