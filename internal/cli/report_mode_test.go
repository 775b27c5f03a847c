package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A report file gets the mode a plain create gives (0666 less the
// umask), whatever the umask: 0640 under 027, 0644 under 022. It used to
// be forced to 0644, so a umask that keeps files from other users did not.
func TestReportFileFollowsTheUmask(t *testing.T) {
	db := reportCatalog(t)
	dir := t.TempDir()
	for _, c := range []struct {
		umask int
		want  os.FileMode
	}{{0o027, 0o640}, {0o022, 0o644}, {0o077, 0o600}} {
		old := syscall.Umask(c.umask)
		file := filepath.Join(dir, "report.json")
		code, _, errs := runReportCmd(t, "--db", db, "-o", file)
		syscall.Umask(old)
		if code != ExitOK {
			t.Fatalf("report: exit %d: %s", code, errs)
		}
		fi, err := os.Stat(file)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.want {
			t.Errorf("umask %03o: report file mode %v, want %v", c.umask, fi.Mode().Perm(), c.want)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".report.json.*")); len(left) != 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	}
}
