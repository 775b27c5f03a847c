package catalog

import (
	"errors"
	"time"
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

// ErrLockLost means a run's PostgreSQL run lock went away while the run
// was writing: its lock connection was closed by the server
// (idle_session_timeout, a restart, a failover) or by something between
// (a proxy, transaction pooling). Another run may have taken the lock
// since, so the run stops rather than write beside it.
var ErrLockLost = errors.New("the catalog's run lock was lost")
