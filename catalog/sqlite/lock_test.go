package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
)

// A lock file that is a symbolic link is refused, and what it points at
// is left alone: a run truncates and writes its lock file, so following a
// link planted next to the catalog would overwrite any file the run can.
func TestLockFilesDoNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "catalog.db")
	victim := filepath.Join(dir, "precious")
	if err := os.WriteFile(victim, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{path + ".lock", shardLockFile(path, catalog.Shard{Index: 1, Count: 2}), path + ".lock.open"} {
		if err := os.Symlink(victim, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, shard := range []catalog.Shard{{}, {Index: 1, Count: 2}} {
		l, err := LockRuns(path, "import", shard)
		if err == nil {
			l.Unlock()
			t.Errorf("shard %q: a symlinked lock file was taken", shard)
		} else if !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("shard %q: %v; want an error saying the lock file is a symbolic link", shard, err)
		}
	}
	if release, err := LockOpen(path); err == nil {
		release()
		t.Error("LockOpen took a symlinked lock file")
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me\n" {
		t.Errorf("the link's target was written: %q", b)
	}
}

// A new catalog file, its WAL and its lock file are readable by their
// owner only: the catalog holds private images' manifests and configs.
// The umask can take more away, never add.
func TestNewCatalogIsPrivate(t *testing.T) {
	dbtest.SQLiteOnly(t, "file modes")
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "catalog.db")
	lock, err := LockRuns(path, "import", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	c, err := Open(context.Background(), path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BeginRun(context.Background(), "import", catalog.Shard{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{path, path + "-wal", path + ".lock"} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(f), fi.Mode().Perm())
		}
	}
	c.Close()
	// An existing catalog keeps the mode its owner gave it.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	c, err = Open(context.Background(), path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("reopening changed an existing catalog's mode to %v", fi.Mode().Perm())
	}
}
