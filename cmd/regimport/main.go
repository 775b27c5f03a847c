// Command regimport imports container-image metadata from Docker/OCI
// registries into a SQLite catalog and serves it in the OpenShift Image API
// schema. See README.md; `regimport help` lists the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/regimport/regimport/internal/cli"
)

func main() {
	// SIGINT/SIGTERM cancel the context: imports stop starting new work,
	// commit what they fetched and exit with a code that says so.
	cli.TuneRuntime(os.Args[1:]) // import's GOGC and memory limit; other commands keep Go's defaults
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
