// Command regimport imports container-image metadata from Docker/OCI
// registries into a SQLite catalog and serves it in the OpenShift Image API
// schema. See README.md; `regimport help` lists the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/regimport/regimport/internal/cli"
)

func main() {
	// SIGINT/SIGTERM cancel the context: imports stop starting new work,
	// commit what they fetched and exit with a code that says so.
	// The live heap stays small (a few MiB: images stream through to SQLite),
	// so the default GOGC collects far too often; 400 trades a few MiB for
	// a fifth of the importer's CPU.
	debug.SetGCPercent(400)
	// ...within a soft ceiling, so memory stays flat on a 100,000-tag run;
	// GOMEMLIMIT in the environment still wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(48 << 20)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
