package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
)

// runPrune deletes images that nothing has referenced for a while. Runs
// never delete images (the catalog is an audit record); this is the one
// explicit way. It holds the run lock and writes through the single writer,
// so it never races an import.
func runPrune(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("prune", s)
	db := fs.String("db", "catalog.db", dbUsage)
	forFlag := fs.String("unreferenced-for", "", "delete images no tag, image stream or referenced list has pointed at for at least this long (36h, 30d)")
	dryRun := fs.Bool("dry-run", false, "list what would be deleted and delete nothing")
	var lf logFlags
	lf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport prune --unreferenced-for DURATION [--dry-run] [--db FILE]\n\nFlags:")
		fs.PrintDefaults()
	}
	if rest, err := parseInterspersed(fs, args); err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	} else if len(rest) > 0 {
		return fail(s, ExitUsage, "prune: unexpected arguments %q", rest)
	}
	age, err := parseAge(*forFlag)
	if err != nil {
		return fail(s, ExitUsage, "prune: --unreferenced-for: %v", err)
	}
	if !catalog.IsPostgres(*db) && !fileExists(*db) {
		return fail(s, ExitUsage, "prune: %s: no such file", *db)
	}
	log, err := lf.logger(s.Err)
	if err != nil {
		return fail(s, ExitUsage, "prune: %v", err)
	}
	lock, err := catalogdb.LockRuns(*db, "regimport prune "+quoteArgs(args), catalog.Shard{})
	if errors.Is(err, catalog.ErrLocked) {
		return fail(s, ExitLocked, "prune: %v", err)
	}
	if err != nil {
		return fail(s, ExitFatal, "prune: %v", err)
	}
	defer lock.Unlock()
	cat, err := catalogdb.Open(ctx, *db, catalog.Options{Logger: log, RunLock: lock})
	if err != nil {
		return fail(s, ExitFatal, "prune: %v", err)
	}
	defer cat.Close()
	cutoff := time.Now().Add(-age)

	var images []catalog.UnreferencedImage
	if *dryRun {
		all, err := cat.UnreferencedImages(ctx)
		if err != nil {
			return fail(s, ExitFatal, "prune: %v", err)
		}
		for _, u := range all {
			if !u.Since.After(cutoff) {
				images = append(images, u)
			}
		}
	} else {
		w, err := cat.NewWriter(context.WithoutCancel(ctx), catalog.WriterOptions{})
		if err != nil {
			return fail(s, ExitFatal, "prune: %v", err)
		}
		var perr error
		if err := w.Prune(ctx, cutoff, func(p []catalog.UnreferencedImage, err error) { images, perr = p, err }); err != nil {
			perr = err
		}
		if err := errors.Join(w.Close(), perr); err != nil {
			return fail(s, ExitFatal, "prune: %v", err)
		}
	}
	verb, total := "deleted", int64(0)
	if *dryRun {
		verb = "would delete"
	}
	for _, u := range images {
		total += u.Size
		fmt.Fprintf(s.Out, "%s %s %s (unreferenced since %s)\n", verb, u.Digest, u.DockerImageReference, u.Since.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(s.Out, "%s %d images (%d bytes) unreferenced since before %s\n", verb, len(images), total, cutoff.UTC().Format(time.RFC3339))
	return ExitOK
}

// parseAge reads a duration as Go writes them (36h, 90m) or in days (30d).
func parseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("required: how long an image must have been unreferenced (36h, 30d)")
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q: want a number of days such as 30d", s)
		}
		return time.Duration(n * 24 * float64(time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q: want a duration such as 36h or 30d", s)
	}
	return d, nil
}
