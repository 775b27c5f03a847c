package catalog

import (
	"errors"
	"time"
)

// WriterOptions tune batching. The zero value commits every 256 operations or
// 100 ms, whichever comes first.
type WriterOptions struct {
	// RunID ties new rows to an import run (0: none).
	RunID int64
	// BatchSize is the most operations in one transaction.
	BatchSize int
	// FlushEvery bounds how long an operation waits for its commit.
	FlushEvery time.Duration
}

// ErrWriterClosed is returned by operations queued after Close.
var ErrWriterClosed = errors.New("catalog writer closed")
