package cli

import (
	"os"
	"runtime/debug"
)

// Import's garbage-collector settings. An import's live heap stays small (a
// few MiB: images stream through to SQLite), so the default GOGC collects
// too often; 200 spends a few MiB on collecting half as often, within a
// 48 MiB soft ceiling so memory stays flat on a 100,000-tag run. (400 was
// worth a fifth of the importer's CPU when it allocated more per image; now
// measured on a 5,000-tag cold import, 400 held the heap at five times the
// live few MiB, 11 MiB more peak memory than 200, for no CPU that three
// runs each could tell apart.)
// Other commands (report, serve, get) hold whole pages or documents in
// memory, where a 48 MiB soft limit would make the collector run without
// end, so they keep Go's defaults.
const (
	importGCPercent   = 200
	importMemoryLimit = 48 << 20
)

// TuneRuntime applies the runtime settings the command in args (as given
// to Main) runs best with. GOGC and GOMEMLIMIT in the environment still
// win, so an operator can override them. cmd/regimport calls it once before
// Main; Main does not, so tests that run commands in-process keep their
// test process's settings.
func TuneRuntime(args []string) {
	if len(args) == 0 || args[0] != "import" {
		return
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(importGCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(importMemoryLimit)
	}
}
