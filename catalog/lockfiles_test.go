package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
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
	for _, name := range []string{path + ".lock", shardLockFile(path, Shard{Index: 1, Count: 2}), path + ".lock.open"} {
		if err := os.Symlink(victim, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, shard := range []Shard{{}, {Index: 1, Count: 2}} {
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
	lock, err := LockRuns(path, "import", Shard{})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock()
	c, err := Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.BeginRun(context.Background(), "import", Shard{}); err != nil {
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
	c, err = Open(context.Background(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("reopening changed an existing catalog's mode to %v", fi.Mode().Perm())
	}
}

// Shard locks on PostgreSQL have a key per (index, count) whatever the
// count: shard 0 of 4097 and shard 0 of 1 are different shards (their
// keys collided when counts were masked to 12 bits), and the same shard
// twice is still refused.
func TestPostgresShardKeysDoNotCollide(t *testing.T) {
	db := dbtest.NewPostgres(t)
	if _, err := Open(context.Background(), db, Options{}); err != nil {
		t.Fatal(err)
	}
	big, err := LockRuns(db, "import --shard 0/4097", Shard{Index: 0, Count: 4097})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Unlock()
	one, err := LockRuns(db, "import --shard 0/1", Shard{Index: 0, Count: 1})
	if err != nil {
		t.Fatalf("shard 0/1 beside shard 0/4097: %v", err)
	}
	defer one.Unlock()
	for _, sh := range []Shard{{Index: 4096, Count: 8193}, {Index: 4097, Count: 4098}} {
		l, err := LockRuns(db, "import", sh)
		if err != nil {
			t.Errorf("shard %s beside 0/4097 and 0/1: %v", sh, err)
			continue
		}
		l.Unlock()
	}
	if _, err := LockRuns(db, "again", Shard{Index: 0, Count: 4097}); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "import --shard 0/4097") {
		t.Errorf("shard 0/4097 twice: %v; want ErrLocked naming the holder", err)
	}
	if _, err := LockRuns(db, "import", Shard{Index: 0, Count: 1 << 31}); err == nil || errors.Is(err, ErrLocked) {
		t.Errorf("a shard count over int4: %v; want a usage error", err)
	}
}

// A PostgreSQL run lock lives on an idle connection of its own. When the
// server ends that connection (here pg_terminate_backend, as
// idle_session_timeout or a failover would), the next commit of the
// run's writer fails with ErrLockLost instead of writing beside whoever
// takes the lock next; a run whose lock is intact commits as before.
func TestPostgresLostRunLockStopsTheWriter(t *testing.T) {
	ctx := context.Background()
	db := dbtest.NewPostgres(t)
	for _, shard := range []Shard{{}, {Index: 1, Count: 2}} {
		lock, err := LockRuns(db, "import", shard)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(ctx, db, Options{RunLock: lock})
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.NewWriter(ctx, WriterOptions{BatchSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		put := func(i int) error {
			errc := make(chan error, 1)
			if err := w.PutImage(ctx, testImage(i), func(_ Outcome, err error) { errc <- err }); err != nil {
				return err
			}
			return <-errc
		}
		if err := put(1 + 10*shard.Index); err != nil {
			t.Fatalf("shard %q: a write while the lock is held: %v", shard, err)
		}
		// End the session of the run's last lock (the shard's own, or the
		// catalog-wide one), from outside.
		admin, err := pgx.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		last := lock.pg[len(lock.pg)-1]
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, last.pid); err != nil {
			t.Fatal(err)
		}
		admin.Close(ctx)
		err = put(2 + 10*shard.Index)
		if !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), "no longer held") {
			t.Errorf("shard %q: a write after the lock's connection ended: %v; want ErrLockLost", shard, err)
		}
		if err := w.Close(); !errors.Is(err, ErrLockLost) {
			t.Errorf("shard %q: Writer.Close: %v; want the lost lock", shard, err)
		}
		if ok, err := c.HasImage(ctx, testImage(2+10*shard.Index).Image.Name); err != nil || ok {
			t.Errorf("shard %q: the image written after the lock was lost is in the catalog (%v, %v)", shard, ok, err)
		}
		c.Close()
		lock.Unlock()
	}
}
