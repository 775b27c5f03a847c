package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/mirror"
	"github.com/regimport/regimport/registry"
)

// registerMirrorSessionFlags registers the flags `mirror apply` shares
// with import, on the same importFlags, so that setupImport checks them
// and builds the same credentials, TLS settings, registry client, lock and
// progress bar.
func registerMirrorSessionFlags(fs interface {
	StringVar(*string, string, string, string)
	IntVar(*int, string, int, string)
	BoolVar(*bool, string, bool, string)
}, f *importFlags) {
	// Import's limits, which setupImport checks; a mirror apply fetches
	// no tag lists or signatures through the importer.
	f.limits = importer.Limits{ReferenceTimeout: importer.DefaultReferenceTimeout, ListChildren: importer.DefaultListChildren,
		SignaturesPerImage: importer.DefaultSignaturesPerImage, SignatureBytesPerImage: importer.DefaultSignatureBytesPerImage}
	f.maxListedTags = registry.DefaultMaxTags
	fs.StringVar(&f.db, "db", "catalog.db", dbUsage)
	fs.IntVar(&f.concurrency, "concurrency", 4, "tags copied at once")
	fs.IntVar(&f.perHost, "per-registry", 0, "requests in flight to one registry host (default: --concurrency)")
	fs.BoolVar(&f.tlsVerify, "tls-verify", true, "verify TLS certificates; false also allows plain HTTP")
	fs.StringVar(&f.authFile, "authfile", "", "auth file (auth.json or Docker config.json), for the sources and the destination")
	fs.StringVar(&f.registriesConf, "registries-conf", "", "registries.conf (default: containers' usual places under --config-root)")
	fs.StringVar(&f.certDir, "cert-dir", "", "directory of client certificates and CAs for every registry")
	fs.StringVar(&f.sigs.registriesD, "registries.d", "", "registries.d: where simple signatures are read and written (lookaside, lookaside-staging) and whether sigstore attachments are copied")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when a terminal), always or never")
	fs.BoolVar(&f.verbose, "v", false, "print one line per tag, also for those already present")
}

func runMirrorApply(ctx context.Context, args []string, s Streams) int {
	var sel mirrorSelectFlags
	var f importFlags
	var planFile string
	var dryRun, prune bool
	fs := newFlagSet("mirror apply", s)
	sel.register(fs)
	registerMirrorSessionFlags(fs, &f)
	registerConfigRoot(fs, &f.configRoot)
	f.log.register(fs)
	fs.StringVar(&planFile, "plan", "", "apply this JSON plan (mirror plan --format json) instead of planning now; its digests are copied even if tags moved since")
	fs.BoolVar(&dryRun, "dry-run", false, "ask the destination (one HEAD per tag) and print what would be copied or deleted; write nothing")
	fs.BoolVar(&prune, "prune", false, "also delete at the destination the tags the catalog recorded as removed upstream from a complete listing")
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport mirror apply --to DEST|--mapping FILE [flags]\n\nCopies the plan by digest with every platform, signatures and referrers;\ntags the destination already has are skipped after one HEAD each.\n\nFlags:")
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
		return fail(s, ExitUsage, "mirror apply: unexpected argument %q", rest[0])
	}
	opts, err := sel.options()
	if err != nil {
		return fail(s, ExitUsage, "mirror apply: %v", err)
	}
	var plan *mirror.Plan
	if planFile != "" {
		if plan, err = readPlan(planFile); err != nil {
			return fail(s, ExitUsage, "mirror apply: %v", err)
		}
		if plan.Destination != opts.Destination.Spec {
			return fail(s, ExitUsage, "mirror apply: the plan is for %s, not %s", plan.Destination, opts.Destination.Spec)
		}
	}
	command := "regimport mirror apply " + quoteArgs(args)
	sess, code := setupImport(ctx, &f, catalogWrite, command, s)
	if code != ExitOK {
		return code
	}
	defer sess.close()
	if plan == nil {
		plan, err = mirror.Build(ctx, sess.cat, opts)
		if errors.Is(err, mirror.ErrBadSelector) {
			return fail(s, ExitUsage, "mirror apply: %v", err)
		}
		if err != nil {
			return fail(s, ExitFatal, "mirror apply: %v", err)
		}
	}
	return applyMirrorPlan(ctx, sess, plan, command, dryRun, prune, f.verbose, s)
}

// applyMirrorPlan applies a plan with an open session, records the run
// and prints the result; it returns the exit code.
func applyMirrorPlan(ctx context.Context, sess *importSession, plan *mirror.Plan, command string, dryRun, prune, verbose bool, s Streams) int {
	start := time.Now()
	printHeldBack(s.Out, plan)
	if prune {
		for _, d := range plan.Deletions {
			fmt.Fprintf(s.Out, "will delete %s:%s if it still points at %s (removed upstream %s: %s)\n",
				d.Destination, d.Tag, d.Digest, d.RemovedAt.Format(time.RFC3339), d.Reason)
		}
	}
	runID, err := sess.cat.BeginMirrorRun(ctx, catalog.MirrorRunSpec{Command: command, Destination: plan.Destination,
		RepositoryGlob: plan.Selectors.Repository, RequireAccepted: plan.Selectors.RequireAccepted, DryRun: dryRun})
	if err != nil {
		return fail(s, ExitFatal, "mirror apply: %v", err)
	}
	known, err := sess.cat.LastMirrored(ctx, plan.Destination)
	if err != nil {
		return fail(s, ExitFatal, "mirror apply: %v", err)
	}
	a := &mirror.Applier{Sys: sess.sys, Registry: sess.reg, Recorder: sess.cat, RunID: runID, Concurrency: sess.f.concurrency,
		DryRun: dryRun, Prune: prune, Logger: sess.log, Known: known}
	if sess.bar != nil {
		a.Progress = mirrorProgress{sess.bar}
	}
	res, applyErr := a.Apply(ctx, plan)
	sess.stopProgress()
	took := time.Since(start)
	printMirrorResult(s.Out, res, verbose)
	status, code := mirrorOutcome(res, applyErr)
	counts := catalog.MirrorRunCounts{Copied: res.Count(catalog.MirrorCopied), Present: res.Count(catalog.MirrorPresent),
		Failed: res.Count(catalog.MirrorFailed), Deleted: res.Count(catalog.MirrorDeleted)}
	if err := sess.cat.FinishMirrorRun(context.WithoutCancel(ctx), runID, status, counts); err != nil && applyErr == nil {
		applyErr, code = err, ExitFatal
	}
	what := ""
	if dryRun {
		what = fmt.Sprintf(" (dry run: %d would be copied, %d deleted)", res.Count(mirror.WouldCopy), res.Count(mirror.WouldDelete))
	}
	fmt.Fprintf(s.Out, "mirror run %d to %s: %d copied, %d already present, %d failed, %d deleted, %d held back in %s%s\n",
		runID, plan.Destination, counts.Copied, counts.Present, counts.Failed, counts.Deleted, len(plan.HeldBack), took.Round(time.Millisecond), what)
	if applyErr != nil {
		return fail(s, ExitFatal, "mirror apply: %v", applyErr)
	}
	return code
}

// mirrorOutcome is the run's status and exit code, ranked as import's:
// fatal, interrupted, partial, ok.
func mirrorOutcome(res mirror.Result, err error) (string, int) {
	switch {
	case err != nil:
		return catalog.RunFailed, ExitFatal
	case res.Interrupted:
		return catalog.RunInterrupted, ExitInterrupted
	case res.Count(catalog.MirrorFailed) > 0:
		return catalog.RunPartial, ExitPartial
	}
	return catalog.RunSucceeded, ExitOK
}

func printMirrorResult(w io.Writer, res mirror.Result, verbose bool) {
	outs := append([]mirror.Outcome(nil), res.Outcomes...)
	sort.Slice(outs, func(i, j int) bool { return outs[i].Destination < outs[j].Destination })
	for _, o := range outs {
		switch {
		case o.Action == catalog.MirrorFailed:
			fmt.Fprintf(w, "failed    %s@%s -> %s: %s\n", o.Source, o.Digest, o.Destination, o.Reason)
		case o.Action == catalog.MirrorPresent && !verbose:
		default:
			extra := ""
			if o.Referrers > 0 {
				extra = fmt.Sprintf(" (+%d referrers)", o.Referrers)
			}
			fmt.Fprintf(w, "%-9s %s@%s -> %s%s\n", o.Action, o.Source, o.Digest, o.Destination, extra)
		}
	}
}

// mirrorProgress draws an apply on import's progress bar.
type mirrorProgress struct{ bar *progressBar }

func (p mirrorProgress) Start(total int) { p.bar.Start(total) }

func (p mirrorProgress) Tag(failed bool) {
	var r importer.Result
	if failed {
		r.Err = errors.New("mirror failed")
	}
	p.bar.Done(r)
}
