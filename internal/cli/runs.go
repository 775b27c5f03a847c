package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/regimport/regimport/catalog"
)

func runRuns(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("runs", s)
	db := fs.String("db", "catalog.db", dbUsage)
	limit := fs.Int("limit", 20, "newest runs to show (0: all)")
	failures := fs.Bool("failures", false, "also list each run's failures")
	if _, err := parseInterspersed(fs, args); err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	cat, err := catalog.Open(ctx, *db, catalog.Options{ReadOnly: true})
	if err != nil {
		return fail(s, ExitFatal, "runs: %v", err)
	}
	defer cat.Close()
	runs, err := cat.Runs(ctx, *limit)
	if err != nil {
		return fail(s, ExitFatal, "runs: %v", err)
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tDURATION\tSTATUS\tIMPORTED\tUNCHANGED\tFAILED\tCOMMAND")
	for _, r := range runs {
		dur := "-"
		if !r.FinishedAt.IsZero() {
			dur = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\n", r.ID, r.StartedAt.Local().Format(time.DateTime), dur, r.Status, r.Imported, r.Unchanged, r.Failed, r.Command)
	}
	tw.Flush()
	if *failures {
		for _, r := range runs {
			fs, err := cat.RunFailures(ctx, r.ID)
			if err != nil {
				return fail(s, ExitFatal, "runs: %v", err)
			}
			for _, f := range fs {
				fmt.Fprintf(s.Out, "run %d: %s: %s\n", r.ID, f.Reference, f.Reason)
			}
		}
	}
	return ExitOK
}
