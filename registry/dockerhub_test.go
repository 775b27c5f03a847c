package registry

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.podman.io/image/v5/types"
)

// docker.io, index.docker.io and registry-1.docker.io are one host for
// per-host settings, certs.d and credentials.
func TestDockerHubNamesAreOneHost(t *testing.T) {
	for _, n := range []string{"docker.io", "index.docker.io", "registry-1.docker.io"} {
		if CanonicalHost(n) != "docker.io" || apiHost(n) != "registry-1.docker.io" {
			t.Fatalf("%s: canonical %s, API host %s", n, CanonicalHost(n), apiHost(n))
		}
	}
	if CanonicalHost("quay.io") != "quay.io" {
		t.Fatal("another host was renamed")
	}

	certs := t.TempDir()
	os.MkdirAll(filepath.Join(certs, "index.docker.io"), 0o755)
	c := New(Options{Hosts: map[string]HostOptions{"docker.io": {Concurrency: 3}}, CertsDirs: []string{certs},
		Sys: &types.SystemContext{AuthFilePath: filepath.Join(t.TempDir(), "none.json")}})
	h, err := c.newHost("registry-1.docker.io", false)
	if err != nil {
		t.Fatal(err)
	}
	if cap(h.flow.sem) != 3 {
		t.Fatalf("settings for docker.io gave the API host concurrency %d, want 3", cap(h.flow.sem))
	}
	if got := c.hostCertsDir("registry-1.docker.io"); got != filepath.Join(certs, "index.docker.io") {
		t.Fatalf("certs.d for the API host: %q", got)
	}

	// Docker's config.json keys Docker Hub as https://index.docker.io/v1/.
	cfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(cfg, []byte(`{"auths":{"https://index.docker.io/v1/":{"auth":"aHViOnB3"}}}`), 0o600)
	c = New(Options{Sys: &types.SystemContext{AuthFilePath: filepath.Join(t.TempDir(), "none.json")}, DockerConfig: cfg})
	for _, n := range []string{"docker.io", "index.docker.io", "registry-1.docker.io"} {
		if got := c.creds.forRegistry(context.Background(), n); got.Username != "hub" || got.Password != "pw" {
			t.Fatalf("credentials for %s: %+v", n, got)
		}
	}
}
