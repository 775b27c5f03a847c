package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLocked means another run holds the catalog's run lock.
var ErrLocked = errors.New("catalog is locked by another run")

// LockHolder says who holds a run lock.
type LockHolder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Since   time.Time `json:"since"`
	Command string    `json:"command"`
}

// RunLock keeps two imports from writing one catalog at once. It is an
// advisory flock(2) on FILE.lock, so a run that dies (even by SIGKILL)
// releases it with its process; the file's content only says who held it.
//
// A PostgreSQL catalog's run lock is an advisory lock instead (see
// lockPostgres).
type RunLock struct {
	f  *os.File
	pg *pgx.Conn
}

// LockRuns takes the run lock of the catalog db (a file path or a
// PostgreSQL URL) without waiting.
func LockRuns(path, command string) (*RunLock, error) {
	if IsPostgres(path) {
		conn, err := lockPostgres(context.Background(), path, command, lockKeyRuns, false)
		if err != nil {
			return nil, err
		}
		return &RunLock{pg: conn}, nil
	}
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			var h LockHolder
			b := make([]byte, 4096)
			n, _ := f.ReadAt(b, 0)
			if json.Unmarshal(b[:n], &h) == nil && h.PID != 0 {
				return nil, fmt.Errorf("%w: pid %d on %s since %s (%s); lock file %s",
					ErrLocked, h.PID, h.Host, h.Since.Local().Format(time.DateTime), h.Command, name)
			}
			return nil, fmt.Errorf("%w (lock file %s)", ErrLocked, name)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(LockHolder{PID: os.Getpid(), Host: host, Since: time.Now(), Command: command})
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt(append(b, '\n'), 0)
	}
	return &RunLock{f: f}, nil
}

// Unlock releases the lock. The file stays: removing it would race with a
// run that just opened it.
func (l *RunLock) Unlock() error {
	if l == nil {
		return nil
	}
	if l.pg != nil {
		err := unlockPostgres(l.pg)
		l.pg = nil
		return err
	}
	if l.f == nil {
		return nil
	}
	_ = l.f.Truncate(0)
	err := l.f.Close() // closing releases the flock
	l.f = nil
	return err
}
