package cli

import (
	"os"
	"runtime/debug"
)

// Import's garbage-collector settings. An import's live heap stays small (a
// few MiB: images stream through to SQLite), so the default GOGC collects
// far too often; 400 trades a few MiB for a fifth of the importer's CPU,
// within a 48 MiB soft ceiling so memory stays flat on a 100,000-tag run.
// Other commands (report, serve, get) hold whole pages or documents in
// memory, where a 48 MiB soft limit would make the collector run without
// end, so they keep Go's defaults.
const (
	importGCPercent   = 400
	importMemoryLimit = 48 << 20
)

// tuneRuntimeFor applies the settings a command runs best with. GOGC and
// GOMEMLIMIT in the environment still win, so an operator can override them.
func tuneRuntimeFor(command string) {
	if command != "import" {
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(importGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importMemoryLimit)
	}
}
