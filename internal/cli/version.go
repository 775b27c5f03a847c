package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// runVersion prints what was built: the module version, the VCS revision
// it was built from (with "dirty" when the tree had uncommitted changes)
// and the Go toolchain, all from the build info the Go linker embeds.
func runVersion(_ context.Context, args []string, s Streams) int {
	if len(args) > 0 {
		return fail(s, ExitUsage, "version takes no arguments, got %q", args)
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		// Only a binary built without module support lacks build info.
		fmt.Fprintf(s.Out, "regimport (unknown version) %s\n", runtime.Version())
		return ExitOK
	}
	writeVersion(s.Out, bi)
	return ExitOK
}

// writeVersion renders build info as
//
//	regimport v1.2.3 (revision 0123abcd..., dirty) go1.26.8
func writeVersion(w io.Writer, bi *debug.BuildInfo) {
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var revision, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	vcs := "revision unknown"
	if revision != "" {
		vcs = "revision " + revision
		if modified == "true" {
			vcs += ", dirty"
		}
	}
	fmt.Fprintf(w, "regimport %s (%s) %s\n", version, vcs, bi.GoVersion)
}
