// Package cli is the regimport command line: it parses arguments, opens the
// catalog, wires the importer, registry client and logger together, prints
// results and turns outcomes into exit codes. cmd/regimport only calls Main,
// so tests run the whole program in-process.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/regimport/regimport/catalog"
)

// Exit codes, documented in README.md. Scripts and cron wrappers rely on them.
const (
	ExitOK          = 0   // everything asked for was imported (or was already there)
	ExitFatal       = 1   // the run could not do its job (catalog unwritable, internal error)
	ExitUsage       = 2   // bad arguments or configuration: nothing was imported
	ExitPartial     = 3   // some references failed; the others were imported
	ExitRejected    = 4   // signature verification rejected an image (see regimport verify)
	ExitLocked      = 5   // another run holds the catalog's lock
	ExitInterrupted = 130 // SIGINT/SIGTERM: in-flight work was committed, the rest skipped
)

// dbUsage describes --db, which every command that reads the catalog takes.
const dbUsage = "catalog: a SQLite file, or a PostgreSQL URL (postgres://user@host:5432/db)"

// Streams are the process's standard streams, and its environment.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
	// Env looks up an environment variable; nil reads the process's own
	// (tests give each command its own environment this way).
	Env func(key string) string
}

// getenv reads an environment variable through s.Env.
func (s Streams) getenv(key string) string {
	v, _ := s.lookupEnv(key)
	return v
}

// lookupEnv reads an environment variable through s.Env, where "" is unset.
func (s Streams) lookupEnv(key string) (string, bool) {
	if s.Env == nil {
		return os.LookupEnv(key)
	}
	v := s.Env(key)
	return v, v != ""
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, s Streams) int
}

func commands() []command {
	return []command{
		{"import", "import images, repositories or whole registries into the catalog", runImport},
		{"get", "print catalog objects in the OpenShift schema (get images [NAME...])", runGet},
		{"verify", "re-verify stored signatures offline against a policy", runVerify},
		{"mirror", "plan or apply a mirror of the catalog's tags to another registry (mirror plan|apply --to DEST)", runMirror},
		{"runs", "list import runs recorded in the catalog", runRuns},
		{"prune", "delete images nothing has referenced for a while (--unreferenced-for DURATION [--dry-run])", runPrune},
		{"migrate", "bring a catalog to this schema (--db), or copy one into an empty one (--from SRC --to DST)", runMigrate},
		{"report", "write an offline audit report of the catalog (html, json, csv, md)", runReport},
		{"serve", "serve the catalog read-only as the OpenShift Image API (for kubectl, oc, client-go)", runServe},
		{"version", "print the module version, VCS revision and Go version", runVersion},
	}
}

// Main runs one regimport command and returns its exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(s.Out)
		if len(args) == 0 {
			return ExitUsage
		}
		return ExitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], s)
		}
	}
	fmt.Fprintf(s.Err, "regimport: unknown command %q\n\n", args[0])
	usage(s.Err)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: regimport COMMAND [flags] [args]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'regimport COMMAND --help' for a command's flags.")
}

// parseInterspersed parses flags wherever they stand among positional
// arguments, as kubectl and oc do: `import REF --db x` works like `import --db x REF`.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// newFlagSet makes a flag set that reports errors to s.Err.
func newFlagSet(name string, s Streams) *flag.FlagSet {
	fs := flag.NewFlagSet("regimport "+name, flag.ContinueOnError)
	fs.SetOutput(s.Err)
	return fs
}

// logFlags are shared by commands that log.
type logFlags struct {
	format, level string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "text", "log format: text or json")
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
}

func (l *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", l.format)
}

func fail(s Streams, code int, format string, args ...any) int {
	fmt.Fprintf(s.Err, "regimport: "+format+"\n", args...)
	return code
}

func isHelp(err error) bool { return errors.Is(err, flag.ErrHelp) }

// fileExists reports whether a default configuration file is present.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quoteArgs renders a command for the runs table, dropping flag values that
// could hold secrets (there are none today; auth lives in files).
// quoteArgs joins arguments for the run record and the lock holder. A
// PostgreSQL URL loses its password: the record is read by auditors.
func quoteArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if name, value, ok := strings.Cut(a, "="); ok && catalog.IsPostgres(value) {
			a = name + "=" + catalog.RedactDB(value)
		} else if catalog.IsPostgres(a) {
			a = catalog.RedactDB(a)
		}
		if strings.ContainsAny(a, " \t\"'") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}
