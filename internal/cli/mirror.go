package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/mirror"
)

// mirrorSelectFlags are what `mirror plan` and `mirror apply` share: the
// destination and the selectors.
type mirrorSelectFlags struct {
	to, mapping, repository, since, require string
}

func (f *mirrorSelectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.to, "to", "", "destination: a registry host with an optional path prefix (src-host/ns/repo goes to DEST/ns/repo)")
	fs.StringVar(&f.mapping, "mapping", "", "destination mapping file instead of --to: SOURCE=TARGET lines, SOURCE a repository or a namespace ending in /")
	fs.StringVar(&f.repository, "repository", "", "only repositories (host/path) matching this glob (* and ? match / too)")
	fs.StringVar(&f.since, "since", "", "only tags added or moved by this import run or later, or at or after this RFC 3339 time")
	fs.StringVar(&f.require, "require", "", "accepted: only tags whose signature verdict is accepted; the others are listed as held back")
}

// options checks the flags and reads the destination.
func (f *mirrorSelectFlags) options() (mirror.Options, error) {
	var o mirror.Options
	switch {
	case f.to != "" && f.mapping != "":
		return o, errors.New("--to and --mapping exclude each other")
	case f.to != "":
		d, err := mirror.ParseDestination(f.to)
		if err != nil {
			return o, fmt.Errorf("--to: %w", err)
		}
		o.Destination = d
	case f.mapping != "":
		file, err := os.Open(f.mapping)
		if err != nil {
			return o, fmt.Errorf("--mapping: %w", err)
		}
		defer file.Close()
		if o.Destination, err = mirror.ReadMapping(f.mapping, file); err != nil {
			return o, fmt.Errorf("--mapping: %w", err)
		}
	default:
		return o, errors.New("no destination: give --to DEST or --mapping FILE")
	}
	switch f.require {
	case "":
	case "accepted":
		o.RequireAccepted = true
	default:
		return o, fmt.Errorf("--require %q: the only requirement is accepted", f.require)
	}
	o.Repository, o.Since = f.repository, f.since
	return o, nil
}

func runMirror(ctx context.Context, args []string, s Streams) int {
	if len(args) > 0 {
		switch args[0] {
		case "plan":
			return runMirrorPlan(ctx, args[1:], s)
		case "apply":
			return runMirrorApply(ctx, args[1:], s)
		}
	}
	fmt.Fprintln(s.Err, "Usage: regimport mirror plan --to DEST [--format FORMAT] [selectors]\n       regimport mirror apply --to DEST [--dry-run] [--prune] [selectors]\n\nRun 'regimport mirror plan --help' or 'regimport mirror apply --help' for flags.")
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		return ExitOK
	}
	return ExitUsage
}

func runMirrorPlan(ctx context.Context, args []string, s Streams) int {
	var sel mirrorSelectFlags
	var db, format, output string
	fs := newFlagSet("mirror plan", s)
	fs.StringVar(&db, "db", "catalog.db", dbUsage)
	sel.register(fs)
	fs.StringVar(&format, "format", "mapping", "output: "+strings.Join(mirror.Formats, ", "))
	fs.StringVar(&output, "o", "", "write the plan to this file (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport mirror plan --to DEST|--mapping FILE [flags]\n\nWrites what a mirror must copy, from the catalog alone (no network).\n\nFlags:")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(rest) > 0 {
		return fail(s, ExitUsage, "mirror plan: unexpected argument %q", rest[0])
	}
	opts, err := sel.options()
	if err != nil {
		return fail(s, ExitUsage, "mirror plan: %v", err)
	}
	if !contains(mirror.Formats, format) {
		return fail(s, ExitUsage, "mirror plan: --format %q: want one of %s", format, strings.Join(mirror.Formats, ", "))
	}
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		return fail(s, ExitFatal, "mirror plan: %v", err)
	}
	defer cat.Close()
	plan, err := mirror.Build(ctx, cat, opts)
	if errors.Is(err, mirror.ErrBadSelector) {
		return fail(s, ExitUsage, "mirror plan: %v", err)
	}
	if err != nil {
		return fail(s, ExitFatal, "mirror plan: %v", err)
	}
	w := s.Out
	if output != "" {
		f, err := os.Create(output)
		if err != nil {
			return fail(s, ExitFatal, "mirror plan: %v", err)
		}
		defer f.Close()
		w = f
	}
	if err := mirror.Write(w, plan, format); err != nil {
		return fail(s, ExitFatal, "mirror plan: %v", err)
	}
	printHeldBack(s.Err, plan)
	fmt.Fprintf(s.Err, "plan for %s: %d to copy, %d held back, %d removed upstream (deleted only by apply --prune)\n",
		plan.Destination, len(plan.Copies), len(plan.HeldBack), len(plan.Deletions))
	return ExitOK
}

func printHeldBack(w io.Writer, p *mirror.Plan) {
	for _, h := range p.HeldBack {
		fmt.Fprintf(w, "held back %s:%s (%s): %s\n", h.Source, h.Tag, h.Verdict, h.Reason)
	}
}

// readPlan reads a JSON plan written by `mirror plan --format json`.
func readPlan(path string) (*mirror.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var p mirror.Plan
	dec := json.NewDecoder(io.LimitReader(f, 256<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	if p.APIVersion != mirror.PlanAPIVersion || p.Kind != mirror.PlanKind {
		return nil, fmt.Errorf("plan %s: apiVersion %q kind %q: want %s %s (mirror plan --format json)", path, p.APIVersion, p.Kind, mirror.PlanAPIVersion, mirror.PlanKind)
	}
	return &p, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
