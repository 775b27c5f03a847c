// Package hermetic gives a test binary an environment of its own, so that no
// test reads the host's containers or Docker configuration: TestMain calls
// Run, which points every place containers/image, go-containerregistry,
// Docker's config code and regimport read by default at files the test
// binary owns, and then runs the tests.
//
// What it sets, for the length of the test binary:
//   - HOME, XDG_CONFIG_HOME, XDG_CACHE_HOME, XDG_DATA_HOME, XDG_STATE_HOME
//     and XDG_RUNTIME_DIR: empty directories of its own, so nothing under the
//     invoking user's ~/.config/containers, ~/.docker, ~/.local/share or
//     $XDG_RUNTIME_DIR/containers is read;
//   - CONTAINERS_POLICY_JSON: a policy that rejects everything, so code that
//     falls back to containers/image's default policy fails loudly instead of
//     judging by the machine's;
//   - CONTAINERS_REGISTRIES_CONF: an empty registries.conf (containers/image
//     then reads no drop-ins either), and no CONTAINERS_REGISTRIES_CONF_OVERRIDE;
//   - REGISTRY_AUTH_FILE and DOCKER_CONFIG: an empty auth.json and a Docker
//     config directory whose config.json has no credentials and no helpers;
//   - REGIMPORT_CONFIG_ROOT: an empty directory, so regimport reads its
//     machine-wide defaults (/etc/containers/policy.json, registries.d,
//     registries.conf and its drop-ins, certs.d) under it rather than under /.
//     Root returns it, for tests that build a SystemContext themselves;
//   - GOCACHE, GOMODCACHE, GOPATH and GOENV: pinned to what they were, so
//     tests that run the go command keep the build cache and settings.
//
// scripts/hostile-host puts a hostile configuration in all the host's places;
// make test runs under it, so a package that reads one of them fails.
package hermetic

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// EnvConfigRoot is regimport's variable for the directory its machine-wide
// defaults are read under (internal/cli, --config-root).
const EnvConfigRoot = "REGIMPORT_CONFIG_ROOT"

// unset are variables that would bring host configuration back in.
var unset = []string{
	"CONTAINERS_REGISTRIES_CONF_OVERRIDE", "REGISTRIES_CONFIG_PATH", "GNUPGHOME", "KUBECONFIG",
}

// Run sets up the environment described in the package comment, runs the
// tests and removes what it made; TestMain passes its result to os.Exit.
func Run(m *testing.M) int {
	dir, err := Setup()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hermetic: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	return m.Run()
}

// Setup does Run's work without running tests, for a TestMain that does more;
// it returns the directory to remove afterwards.
func Setup() (string, error) {
	if err := pinGo(); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "regimport-hermetic-")
	if err != nil {
		return "", err
	}
	files := map[string]string{
		"containers/policy.json":     `{"default": [{"type": "reject"}]}` + "\n",
		"containers/registries.conf": "# hermetic: no registries configured\n",
		"containers/auth.json":       `{"auths": {}}` + "\n",
		"docker/config.json":         `{"auths": {}}` + "\n",
	}
	for name, content := range files {
		if err := writeFile(filepath.Join(dir, name), content); err != nil {
			return "", err
		}
	}
	env := map[string]string{
		"HOME":                       filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME":            filepath.Join(dir, "xdg/config"),
		"XDG_CACHE_HOME":             filepath.Join(dir, "xdg/cache"),
		"XDG_DATA_HOME":              filepath.Join(dir, "xdg/data"),
		"XDG_STATE_HOME":             filepath.Join(dir, "xdg/state"),
		"XDG_RUNTIME_DIR":            filepath.Join(dir, "run"),
		EnvConfigRoot:                filepath.Join(dir, "root"),
		"CONTAINERS_POLICY_JSON":     filepath.Join(dir, "containers/policy.json"),
		"CONTAINERS_REGISTRIES_CONF": filepath.Join(dir, "containers/registries.conf"),
		"REGISTRY_AUTH_FILE":         filepath.Join(dir, "containers/auth.json"),
		"DOCKER_CONFIG":              filepath.Join(dir, "docker"),
	}
	for _, k := range []string{"HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR", EnvConfigRoot} {
		if err := os.MkdirAll(env[k], 0o700); err != nil {
			return "", err
		}
	}
	for k, v := range env {
		if err := os.Setenv(k, v); err != nil {
			return "", err
		}
	}
	for _, k := range unset {
		if err := os.Unsetenv(k); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// Root is the directory regimport reads its machine-wide defaults under in
// this test binary (what SystemContext.RootForImplicitAbsolutePaths should be
// in a test that builds one); "" before Setup.
func Root() string { return os.Getenv(EnvConfigRoot) }

func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o600)
}

// pinGo fixes the go command's directories, which default to places under
// HOME, before HOME changes. Without the go command nothing is pinned: no
// test can run it then either.
func pinGo() error {
	keys := []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOENV"}
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil
	}
	out, err := exec.Command(gobin, append([]string{"env"}, keys...)...).Output()
	if err != nil {
		return fmt.Errorf("go env: %w", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(keys) {
		return fmt.Errorf("go env %s: %d lines, want %d", strings.Join(keys, " "), len(lines), len(keys))
	}
	for i, k := range keys {
		if err := os.Setenv(k, lines[i]); err != nil {
			return err
		}
	}
	return nil
}
