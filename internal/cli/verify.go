package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/signatures"
)

// runVerify re-verifies stored images and signatures offline.
func runVerify(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("verify", s)
	db := fs.String("db", "catalog.db", dbUsage)
	policy := fs.String("policy", "", "containers-policy.json to verify against (required)")
	quiet := fs.Bool("q", false, "print only the summary")
	dryRun := fs.Bool("dry-run", false, "write nothing: print each (repository, image) pair whose verdict would change, and exit as the real run would")
	format := fs.String("format", "text", "with --dry-run: text, json or csv")
	var modern modernSignatureFlags
	modern.register(fs)
	var lf logFlags
	lf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport verify --policy FILE [--db FILE] [--dry-run [--format text|json|csv]] [NAME...]\n\nRe-evaluates each repository's stored signatures of each image, with no network at all.\nWith --dry-run it writes nothing and takes no run lock: it lists the pairs whose verdict\nwould change (repository, tags, digest, old -> new, reason), then a summary per repository.\n\nFlags:")
		fs.PrintDefaults()
	}
	names, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if *policy == "" && modern.notationPolicy == "" {
		fs.Usage()
		return fail(s, ExitUsage, "verify: --policy is required")
	}
	switch {
	case *format != "text" && *format != "json" && *format != "csv":
		return fail(s, ExitUsage, "verify: --format %q: want text, json or csv", *format)
	case *format != "text" && !*dryRun:
		return fail(s, ExitUsage, "verify: --format %s is for --dry-run", *format)
	}
	log, err := lf.logger(s.Err)
	if err != nil {
		return fail(s, ExitUsage, "verify: %v", err)
	}
	vo := signatures.Options{PolicyPath: *policy, Logger: log, TempDir: fastTempDir()}
	modern.apply(&vo)
	v, err := signatures.NewVerifier(vo)
	if err != nil {
		return fail(s, ExitUsage, "verify: %v", err)
	}
	if *dryRun {
		return verifyDryRun(ctx, s, *db, v, policyName(*policy, modern), names, *format, *quiet)
	}
	// verify writes verdicts: it holds the run lock like an import, and
	// writes through the catalog's single writer.
	lock, err := catalogdb.LockRuns(*db, "regimport verify", catalog.Shard{})
	if errors.Is(err, catalog.ErrLocked) {
		return fail(s, ExitLocked, "verify: %v", err)
	}
	if err != nil {
		return fail(s, ExitFatal, "verify: %v", err)
	}
	defer lock.Unlock()
	cat, err := catalogdb.Open(ctx, *db, catalog.Options{Logger: log, RunLock: lock})
	if err != nil {
		return fail(s, ExitFatal, "verify: %v", err)
	}
	defer cat.Close()
	counts := map[signatures.Verdict]int{}
	changed, failed := 0, 0
	err = importer.Reverify(ctx, cat, v, names, func(r importer.ReverifyResult) {
		if r.Err != nil {
			failed++
			fmt.Fprintf(s.Out, "error     %s@%s: %v\n", r.Repository, r.Image, r.Err)
			return
		}
		counts[r.Verdict]++
		if r.Changed {
			changed++
		}
		if !*quiet {
			mark := ""
			if r.Changed {
				mark = " (changed)"
			}
			reason := ""
			if r.Verdict != signatures.VerdictAccepted && r.Reason != "" {
				reason = ": " + r.Reason
			}
			fmt.Fprintf(s.Out, "%-11s %s@%s%s%s\n", r.Verdict, r.Repository, r.Image, mark, reason)
		}
	})
	total := 0
	for _, n := range counts {
		total += n
	}
	unevaluated := counts[signatures.Verdict(catalog.VerdictUnevaluated)]
	fmt.Fprintf(s.Out, "verified %d (repository, image) pairs: %d accepted, %d rejected, %d unevaluated, %d changed, %d errors\n",
		total, counts[signatures.VerdictAccepted], counts[signatures.VerdictRejected], unevaluated, changed, failed)
	if err != nil {
		return fail(s, ExitFatal, "verify: %v", err)
	}
	// As for import, exit 4 means a node could not pull some tag (wholly
	// or on some platforms), as containers/image decides a pull: a
	// rejected pair alone, such as a list's own signature, is no reason.
	blocked, err := importer.CurrentPullBlocks(ctx, cat, names)
	if err != nil {
		return fail(s, ExitFatal, "verify: %v", err)
	}
	printPullBlocks(s.Out, blocked)
	switch {
	case failed > 0 || unevaluated > 0:
		return ExitPartial
	case len(blocked) > 0:
		return ExitRejected
	}
	return ExitOK
}
