package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
)

func runRuns(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("runs", s)
	db := fs.String("db", "catalog.db", dbUsage)
	limit := fs.Int("limit", 20, "newest runs to show, a sharded run counting as one (0: all)")
	failures := fs.Bool("failures", false, "also list each run's failures")
	if _, err := parseInterspersed(fs, args); err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	cat, err := catalogdb.Open(ctx, *db, catalog.Options{ReadOnly: true})
	if err != nil {
		return fail(s, ExitFatal, "runs: %v", err)
	}
	defer cat.Close()
	// Every record, for the limit counts sharded runs, whose shards may be
	// far apart in the table; import_runs has one short row per run.
	runs, err := cat.Runs(ctx, 0)
	if err != nil {
		return fail(s, ExitFatal, "runs: %v", err)
	}
	lines := groupRuns(runs)
	if *limit > 0 && len(lines) > *limit {
		lines = lines[:*limit]
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tSTATUS\tIMPORTED\tUNCHANGED\tFAILED\tCOMMAND")
	for _, l := range lines {
		if l.shards == nil {
			printRun(tw, fmt.Sprint(l.run.ID), l.run, l.run.Command)
			continue
		}
		last := l.shards[len(l.shards)-1].ID
		printRun(tw, fmt.Sprintf("%d-%d", l.run.ID, last), l.run,
			fmt.Sprintf("sharded run %q: %d/%d shards", l.run.Shard.Group, l.present, l.run.Shard.Count))
		for _, sh := range l.shards {
			printRun(tw, fmt.Sprintf("  %d", sh.ID), sh, fmt.Sprintf("shard %s: %s", sh.Shard, sh.Command))
		}
	}
	tw.Flush()
	if *failures {
		for _, l := range lines {
			each := l.shards
			if each == nil {
				each = []catalog.Run{l.run}
			}
			for _, r := range each {
				fs, err := cat.RunFailures(ctx, r.ID)
				if err != nil {
					return fail(s, ExitFatal, "runs: %v", err)
				}
				for _, f := range fs {
					fmt.Fprintf(s.Out, "run %d: %s: %s\n", r.ID, f.Reference, f.Reason)
				}
			}
		}
	}
	return ExitOK
}

func printRun(w io.Writer, id string, r catalog.Run, command string) {
	dur := "-"
	if !r.FinishedAt.IsZero() {
		dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
	}
	status := r.Status
	if r.Status == catalog.RunAbandoned && r.AbandonedBy != 0 {
		status = fmt.Sprintf("abandoned (found dead by run %d at %s)", r.AbandonedBy, r.AbandonedAt.Local().Format(time.DateTime))
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", id, r.StartedAt.Local().Format(time.DateTime), dur, status, r.Imported, r.Unchanged, r.Failed, command)
}
