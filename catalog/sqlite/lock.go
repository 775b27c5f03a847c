package sqlite

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/regimport/regimport/catalog"
)

// RunLock keeps two runs from writing the same part of a catalog at once.
// It is advisory flock(2) on files next to the catalog, so a run that dies
// (even by SIGKILL) releases it with its process; a file's content only
// says who holds it.
//
// An unsharded run (import, prune, migrate, verify) holds FILE.lock
// exclusively. A shard I of N holds FILE.lock shared, which keeps the
// unsharded runs out while letting the other shards in, and
// FILE.lock.shard-I-of-N exclusively, which keeps a second copy of the
// same shard out.
type RunLock struct {
	files []*os.File // exclusive ones have their holder written in them
	owned []bool
}

// LockRuns takes the run lock of the catalog at path, for the whole
// catalog or for one shard of a sharded import, without waiting. command
// is written into the exclusive lock file for catalog.ErrLocked to show.
func LockRuns(path, command string, shard catalog.Shard) (*RunLock, error) {
	l := &RunLock{}
	if !shard.Sharded() {
		f, err := flockFile(path+".lock", syscall.LOCK_EX, command)
		if err != nil {
			return nil, err
		}
		l.add(f, true)
		return l, nil
	}
	wide, err := flockFile(path+".lock", syscall.LOCK_SH, "")
	if err != nil {
		return nil, err
	}
	l.add(wide, false)
	own, err := flockFile(shardLockFile(path, shard), syscall.LOCK_EX, command)
	if err != nil {
		l.Unlock()
		return nil, err
	}
	l.add(own, true)
	return l, nil
}

// shardLockFile is the file a shard locks exclusively: FILE.lock.shard-I-of-N.
func shardLockFile(path string, shard catalog.Shard) string {
	return fmt.Sprintf("%s.lock.shard-%d-of-%d", path, shard.Index, shard.Count)
}

func (l *RunLock) add(f *os.File, owned bool) {
	l.files = append(l.files, f)
	l.owned = append(l.owned, owned)
}

// flockFile opens name and takes how (LOCK_EX or LOCK_SH) on it without
// waiting; holding it exclusively, it writes the holder for others to read.
func flockFile(name string, how int, command string) (*os.File, error) {
	f, err := openLockFile(name)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, lockedError(f, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if how == syscall.LOCK_SH {
		// No one holds it exclusively now, nor can while we hold it: a
		// holder written in it is stale (a run killed before its Unlock)
		// and would be blamed when an unsharded run is refused.
		_ = f.Truncate(0)
	}
	if how == syscall.LOCK_EX {
		host, _ := os.Hostname()
		b, _ := json.Marshal(catalog.LockHolder{PID: os.Getpid(), Host: host, Since: time.Now(), Command: command})
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt(append(b, '\n'), 0)
		}
	}
	return f, nil
}

// openLockFile opens (creating) a lock file next to the catalog. It never
// follows a symbolic link: a lock file is truncated and written, and a link
// planted in the catalog's directory would otherwise point that at any
// file the run may write. It must be a regular file, and it is created
// readable by its owner only, like the catalog (it names the command).
func openLockFile(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("lock %s: it is a symbolic link; a lock file must be a regular file (remove the link)", name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("lock %s: not a regular file; a lock file must be one", name)
	}
	return f, nil
}

// lockedError says who holds the lock on name: the holder written in it
// (an exclusive holder), else the shards that hold it shared, which are
// the holders written in their own FILE.lock.shard-* files.
func lockedError(f *os.File, name string) error {
	if h, ok := readHolder(f); ok {
		return fmt.Errorf("%w: pid %d on %s since %s (%s); lock file %s", catalog.ErrLocked, h.PID, h.Host, h.Since.Local().Format(time.DateTime), h.Command, name)
	}
	shardFiles, _ := filepath.Glob(globEscape(name) + ".shard-*-of-*")
	sort.Strings(shardFiles)
	var held []string
	for _, sf := range shardFiles {
		g, err := os.Open(sf)
		if err != nil {
			continue
		}
		if h, ok := readHolder(g); ok {
			held = append(held, fmt.Sprintf("pid %d on %s since %s (%s)", h.PID, h.Host, h.Since.Local().Format(time.DateTime), h.Command))
		}
		g.Close()
	}
	if len(held) > 0 {
		return fmt.Errorf("%w: shards of a sharded import: %s; lock file %s", catalog.ErrLocked, strings.Join(held, "; "), name)
	}
	return fmt.Errorf("%w (lock file %s)", catalog.ErrLocked, name)
}

func readHolder(f *os.File) (catalog.LockHolder, bool) {
	var h catalog.LockHolder
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	return h, json.Unmarshal(b[:n], &h) == nil && h.PID != 0
}

// globEscape quotes the pattern characters of a path for filepath.Glob.
func globEscape(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(p)
}

// Unlock releases the lock. The files stay: removing one would race with
// a run that just opened it. An exclusive holder empties its file first.
func (l *RunLock) Unlock() error {
	if l == nil {
		return nil
	}
	var errs []error
	for i := len(l.files) - 1; i >= 0; i-- {
		if l.owned[i] {
			_ = l.files[i].Truncate(0)
		}
		errs = append(errs, l.files[i].Close()) // closing releases the flock
	}
	l.files, l.owned = nil, nil
	return errors.Join(errs...)
}

// LockOpen waits for and takes FILE.lock.open exclusively, so that shards
// started together open the catalog at path one at a time: the first
// creates and migrates it, the others find it current. (SQLite's own
// locking does not cover a migration's read of the schema version.)
// Release it once Open returned.
//
// A PostgreSQL catalog needs none: its migration holds an advisory lock.
func LockOpen(path string) (release func(), err error) {
	name := path + ".lock.open"
	f, err := openLockFile(name)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
