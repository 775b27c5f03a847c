package cli

import (
	"context"
	"math"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionPrintsBuildInfo(t *testing.T) {
	var out, errb strings.Builder
	if code := Main(context.Background(), []string{"version"}, Streams{Out: &out, Err: &errb}); code != ExitOK {
		t.Fatalf("version: exit %d, stderr %q", code, errb.String())
	}
	// A test binary has build info with the Go version but no VCS stamp.
	if got := out.String(); !strings.HasPrefix(got, "regimport ") || !strings.Contains(got, runtime.Version()) {
		t.Fatalf("version printed %q, want regimport, a version and %s", got, runtime.Version())
	}
	if code := Main(context.Background(), []string{"version", "extra"}, Streams{Out: &out, Err: &errb}); code != ExitUsage {
		t.Fatalf("version with an argument: exit %d, want %d", code, ExitUsage)
	}
}

func TestWriteVersionRendersRevisionAndDirtyFlag(t *testing.T) {
	for _, tc := range []struct {
		settings []debug.BuildSetting
		version  string
		want     string
	}{
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"}}, "v1.2.3",
			"regimport v1.2.3 (revision 0123abc, dirty) go1.99\n"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "false"}}, "",
			"regimport (devel) (revision 0123abc) go1.99\n"},
		{nil, "(devel)", "regimport (devel) (revision unknown) go1.99\n"},
	} {
		var b strings.Builder
		writeVersion(&b, &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: tc.version}, Settings: tc.settings})
		if b.String() != tc.want {
			t.Errorf("got %q, want %q", b.String(), tc.want)
		}
	}
}

// TestOnlyImportTunesTheGarbageCollector applies each command's settings
// (not in parallel with other tests: they are process-wide) and reads the
// collector's settings after each.
func TestOnlyImportTunesTheGarbageCollector(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	prevGC, prevLimit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(prevGC); debug.SetMemoryLimit(prevLimit) }()
	settings := func() (int, int64) {
		gc := debug.SetGCPercent(-1)
		debug.SetGCPercent(gc)
		return gc, debug.SetMemoryLimit(-1)
	}
	for _, args := range [][]string{
		{"report", "--db", "catalog.db", "--format", "json"},
		{"serve", "--db", "catalog.db"},
		{"get", "images"},
		{"verify", "--policy", "policy.json"},
		{"version"},
		{},
	} {
		TuneRuntime(args)
		if gc, limit := settings(); gc != 100 || limit != math.MaxInt64 {
			t.Errorf("%q: GOGC %d and memory limit %d, want Go's defaults (100, none)", args, gc, limit)
		}
	}
	TuneRuntime([]string{"import", "--db", "catalog.db", "example.com/a:b"})
	if gc, limit := settings(); gc != importGCPercent || limit != importMemoryLimit {
		t.Errorf("import: GOGC %d and memory limit %d, want %d and %d", gc, limit, importGCPercent, importMemoryLimit)
	}
	// An operator's GOGC and GOMEMLIMIT win over import's settings.
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "1GiB")
	TuneRuntime([]string{"import", "example.com/a:b"})
	if gc, limit := settings(); gc != 100 || limit != math.MaxInt64 {
		t.Errorf("import with GOGC and GOMEMLIMIT in the environment: GOGC %d, memory limit %d", gc, limit)
	}
}
