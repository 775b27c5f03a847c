package registry_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/types"
)

// world is a real in-process registry behind a regfront.Front.
type world struct {
	reg   *testregistry.Registry
	front *regfront.Front
}

func newWorld(t *testing.T, opts regfront.Options, extra ...testregistry.Option) *world {
	t.Helper()
	f := regfront.New(opts)
	t.Cleanup(f.Close)
	reg, err := testregistry.Start(context.Background(), append(extra, f.Option())...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(reg.Close)
	return &world{reg: reg, front: f}
}

// push stores tags of one image in repo and returns what was pushed.
func (w *world) push(t *testing.T, repo string, seed int64, tags ...string) testregistry.Pushed {
	t.Helper()
	p, err := w.reg.Push(context.Background(), testregistry.ImageSpec{Repository: repo, Tags: tags, Format: testregistry.Schema2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *world) named(t *testing.T, repo string) reference.Named {
	t.Helper()
	n, err := reference.ParseNormalizedNamed(w.reg.Host() + "/" + repo)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// logBuffer is a slog.Logger whose lines a test can read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// client builds a Client for the plain-HTTP loopback registry.
func client(opts registry.Options) *registry.Client {
	if opts.Sys == nil {
		opts.Sys = &types.SystemContext{}
	}
	opts.Sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	if opts.Sys.AuthFilePath == "" {
		opts.Sys.AuthFilePath = filepath.Join(os.TempDir(), "regimport-no-such-auth.json")
	}
	if opts.DockerConfig == "" {
		opts.DockerConfig = opts.Sys.AuthFilePath
	}
	if opts.CertsDirs == nil {
		opts.CertsDirs = []string{}
	}
	return registry.New(opts)
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// credentialHelper writes a real docker-credential-NAME executable into a
// directory put first on PATH: a shell script speaking the helper protocol
// (the server URL on stdin for "get", JSON on stdout). Each call appends a
// line to the returned log, so a test can count them.
func credentialHelper(t *testing.T, name, server, user, secret string) (calls func() int) {
	t.Helper()
	dir := t.TempDir()
	log := filepath.Join(dir, "calls.log")
	script := fmt.Sprintf(`#!/bin/sh
[ "$1" = get ] || exit 1
read server
echo "$server" >> %q
if [ "$server" = %q ]; then
  printf '{"ServerURL":"%%s","Username":%q,"Secret":%q}\n' "$server"
  exit 0
fi
echo "credentials not found in native keychain"
exit 1
`, log, server, user, secret)
	writeFile(t, dir, "docker-credential-"+name, script, 0o755)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() int {
		b, _ := os.ReadFile(log)
		return strings.Count(string(b), "\n")
	}
}
