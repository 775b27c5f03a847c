package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/regimport/regimport/internal/hermetic"
)

// The binary is built once for all process-level tests of this package.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// TestMain gives the tests (and the binaries they start, which inherit the
// environment) a HOME, containers and Docker configuration of their own
// (internal/hermetic).
func TestMain(m *testing.M) {
	code := hermetic.Run(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildBinary builds regimport (with VCS stamping, as `make build` does) and
// returns its path.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "regimport-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "regimport")
		cmd := exec.Command("go", "build", "-tags", "containers_image_openpgp", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// TestVersionNamesTheCommitItWasBuiltFrom builds the committed tree in a
// clone of its own (Go stamps VCS information only in a checkout whose .git
// is a directory, not in a git worktree) and checks that the real binary
// prints that commit, no dirty flag, and the Go version.
func TestVersionNamesTheCommitItWasBuiltFrom(t *testing.T) {
	if testing.Short() {
		t.Skip("clones the repository and builds the binary")
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %s (the test needs git and a checkout): %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	head := git(".", "rev-parse", "HEAD")
	top := git(".", "rev-parse", "--show-toplevel")
	clone := filepath.Join(t.TempDir(), "src")
	git(".", "clone", "--quiet", "--shared", "--no-checkout", top, clone)
	git(clone, "checkout", "--quiet", head)
	bin := filepath.Join(t.TempDir(), "regimport")
	build := exec.Command("go", "build", "-buildvcs=true", "-tags", "containers_image_openpgp", "-o", bin, "./cmd/regimport")
	build.Dir = clone
	build.Env = append(os.Environ(), "CGO_ENABLED=1", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("regimport version: %v", err)
	}
	got := string(out)
	if !strings.Contains(got, "(revision "+head+")") {
		t.Errorf("version printed %q, want the revision %s of a clean tree", got, head)
	}
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, strings.TrimSpace(string(goVersion))) {
		t.Errorf("version printed %q, want the Go version %s", got, goVersion)
	}
}
