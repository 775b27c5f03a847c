package catalog

import (
	"errors"
	"log/slog"
	"time"
)

// Errors callers check with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrNotCatalog  = errors.New("not a regimport catalog")
	ErrTooNew      = errors.New("catalog schema is newer than this regimport")
	ErrReadOnly    = errors.New("catalog opened read-only")
	ErrNeedMigrate = errors.New("catalog schema is older than this regimport")
)

// Options configure catalogdb.Open (and each backend's Open). The zero value opens for writing with a discarding logger.
type Options struct {
	// ReadOnly opens the file without write access; it must already be a
	// catalog at the current schema version (a read-only opener cannot migrate).
	ReadOnly bool
	// Logger receives migration notices; nil discards.
	Logger *slog.Logger
	// Now is the clock for timestamps; nil uses time.Now. Tests inject one.
	Now func() time.Time
	// RunLock, when set, is the run lock the opener holds. Every writer
	// transaction then checks, just before it commits, that the run still
	// holds it (a PostgreSQL lock checks its advisory locks), and fails with ErrLockLost when not: a
	// PostgreSQL run lock lives on an idle connection of its own, which
	// the server or a proxy may close without the run noticing. SQLite's
	// file locks cannot be lost while the process lives: nothing to check.
	RunLock RunLock
}
