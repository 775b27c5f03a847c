package hygiene

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// maxTrackedBytes is the largest file the repository may track: sources,
// fixtures and docs are far below it, a compiled binary is far above.
const maxTrackedBytes = 5 << 20

func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatalf("git rev-parse: %v (the checks read the work tree through git)", err)
	}
	return strings.TrimSpace(string(out))
}

func TestNoTrackedFileIsOverFiveMiB(t *testing.T) {
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	files := bytes.Split(bytes.TrimSuffix(out, []byte{0}), []byte{0})
	if len(files) < 100 {
		t.Fatalf("git ls-files listed %d files: not the repository", len(files))
	}
	for _, f := range files {
		fi, err := os.Lstat(filepath.Join(root, string(f)))
		if err != nil {
			continue // deleted in the work tree, not yet committed
		}
		if fi.Size() > maxTrackedBytes {
			t.Errorf("%s is tracked and %d bytes (over %d): build outputs are not committed", f, fi.Size(), maxTrackedBytes)
		}
	}
}

// CI runs .ci/run; under CI=true a missing test tool fails instead of
// skipping, so the script must set it, not rely on the caller.
func TestCIRunsWithCITrue(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(repoRoot(t), ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "export CI=true") {
		t.Errorf(".ci/run does not export CI=true:\n%s", body)
	}
}

// Every test that may skip for a missing tool checks CI the same way.
func TestCIIsCheckedOneWay(t *testing.T) {
	root := repoRoot(t)
	out, err := exec.Command("git", "-C", root, "grep", "-n", "-E", `Getenv\("CI"\)`, "--", "*.go").Output()
	if err != nil {
		t.Fatalf("git grep: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "internal/hygiene/") {
			continue
		}
		if !strings.Contains(l, `os.Getenv("CI") == "true"`) {
			t.Errorf("CI checked another way: %s", l)
		}
	}
}
