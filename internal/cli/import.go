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
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	"go.podman.io/image/v5/types"
)

type importFlags struct {
	db             string
	allTags        bool
	catalog        bool
	concurrency    int
	perHost        int
	tlsVerify      bool
	authFile       string
	registriesConf string
	certDir        string
	verbose        bool
	cpuProfile     string
	memProfile     string
	sigs           signatureFlags
	log            logFlags
}

func runImport(ctx context.Context, args []string, s Streams) int {
	var f importFlags
	fs := newFlagSet("import", s)
	fs.StringVar(&f.db, "db", "catalog.db", "catalog file (created when missing)")
	fs.BoolVar(&f.allTags, "all-tags", false, "import every tag of each repository REF")
	fs.BoolVar(&f.catalog, "catalog", false, "treat each REF as a registry host (or host/namespace) and import every repository /v2/_catalog lists")
	fs.IntVar(&f.concurrency, "concurrency", 16, "references fetched at once")
	fs.IntVar(&f.perHost, "per-registry", 8, "requests in flight to one registry host")
	fs.BoolVar(&f.tlsVerify, "tls-verify", true, "verify TLS certificates; false also allows plain HTTP")
	fs.StringVar(&f.authFile, "authfile", "", "auth file (auth.json or Docker config.json; default: containers' and Docker's usual places)")
	fs.StringVar(&f.registriesConf, "registries-conf", "", "registries.conf for mirrors, blocked and insecure registries (default: /etc/containers/registries.conf when present)")
	fs.StringVar(&f.certDir, "cert-dir", "", "directory of client certificates and CAs (*.crt, *.cert, *.key) for every registry")
	fs.BoolVar(&f.verbose, "v", false, "print one line per reference")
	fs.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the run to this file")
	fs.StringVar(&f.memProfile, "mem-profile", "", "write a Go heap profile at the end of the run to this file")
	f.sigs.register(fs)
	f.log.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport import [flags] REF...\n\nREF is host/repo:tag, host/repo@sha256:..., a repository with --all-tags,\nor a registry host (host/namespace) with --catalog.\n\nFlags:")
		fs.PrintDefaults()
	}
	refs, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(refs) == 0 {
		fs.Usage()
		return fail(s, ExitUsage, "import: no REF given")
	}
	if f.concurrency < 1 || f.perHost < 1 {
		return fail(s, ExitUsage, "import: --concurrency and --per-registry must be at least 1")
	}
	if f.allTags && f.catalog {
		return fail(s, ExitUsage, "import: --all-tags and --catalog exclude each other (--catalog imports every tag already)")
	}
	if f.registriesConf != "" && !fileExists(f.registriesConf) {
		return fail(s, ExitUsage, "import: --registries-conf %s: no such file", f.registriesConf)
	}
	if f.authFile != "" && !fileExists(f.authFile) {
		return fail(s, ExitUsage, "import: --authfile %s: no such file", f.authFile)
	}
	log, err := f.log.logger(s.Err)
	if err != nil {
		return fail(s, ExitUsage, "import: %v", err)
	}
	sys := &types.SystemContext{
		AuthFilePath:             f.authFile,
		SystemRegistriesConfPath: f.registriesConf,
		DockerCertPath:           f.certDir,
	}
	if !f.tlsVerify {
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	sigOpts, err := f.sigs.options(log, sys)
	if err != nil {
		return fail(s, ExitUsage, "import: %v", err)
	}

	lock, err := catalog.LockRuns(f.db, "regimport import "+quoteArgs(args))
	if errors.Is(err, catalog.ErrLocked) {
		return fail(s, ExitLocked, "import: %v", err)
	}
	if err != nil {
		return fail(s, ExitFatal, "import: %v", err)
	}
	defer lock.Unlock()
	cat, err := catalog.Open(ctx, f.db, catalog.Options{Logger: log})
	if err != nil {
		return fail(s, ExitFatal, "import: %v", err)
	}
	defer cat.Close()

	reg := registry.New(registry.Options{Sys: sys, Logger: log, PerHostConcurrency: f.perHost})
	imp, err := importer.New(importer.Options{Catalog: cat, Registry: reg, Logger: log, Concurrency: f.concurrency, Signatures: sigOpts})
	if err != nil {
		return fail(s, ExitFatal, "import: %v", err)
	}
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		return fail(s, ExitUsage, "import: %v", err)
	}
	defer stopProfiles()
	start := time.Now()
	sum, err := imp.Run(ctx, importer.Request{
		References: refs, AllTags: f.allTags, Catalog: f.catalog,
		Command: "import " + quoteArgs(args),
	})
	printSummary(s.Out, sum, time.Since(start), f.verbose)
	switch {
	case err != nil:
		return fail(s, ExitFatal, "import: %v", err)
	case sum.Interrupted:
		return ExitInterrupted
	case len(sum.Failures) > 0:
		return ExitPartial
	case sum.Verdicts[signatures.VerdictRejected] > 0:
		return ExitRejected
	}
	return ExitOK
}

func printSummary(w io.Writer, sum importer.Summary, took time.Duration, verbose bool) {
	results := append([]importer.Result(nil), sum.Results...)
	sort.Slice(results, func(i, j int) bool { return results[i].Reference < results[j].Reference })
	if verbose {
		for _, r := range results {
			if r.Outcome == importer.Failed {
				continue
			}
			extra := ""
			if r.Children > 0 {
				extra = fmt.Sprintf(" (list of %d)", r.Children)
			}
			fmt.Fprintf(w, "%-9s %s -> %s%s\n", r.Outcome, r.Reference, r.Image, extra)
		}
	}
	failures := append([]importer.Failure(nil), sum.Failures...)
	sort.Slice(failures, func(i, j int) bool { return failures[i].Reference < failures[j].Reference })
	for _, f := range failures {
		fmt.Fprintf(w, "failed    %s: %s\n", f.Reference, f.Reason)
	}
	imported, unchanged, failed := sum.Counts()
	state := ""
	if sum.Interrupted {
		state = " (interrupted)"
	}
	if len(sum.Verdicts) > 0 {
		fmt.Fprintf(w, "signatures: %d accepted, %d rejected, %d without a policy\n",
			sum.Verdicts[signatures.VerdictAccepted], sum.Verdicts[signatures.VerdictRejected], sum.Verdicts[signatures.VerdictNoPolicy])
	}
	fmt.Fprintf(w, "run %d%s: %d imported, %d unchanged, %d failed in %s; images: %d new, %d already stored; tags: %d new, %d moved\n",
		sum.RunID, state, imported, unchanged, failed, took.Round(time.Millisecond),
		sum.ImagesCreated, sum.ImagesUnchanged, sum.TagsCreated, sum.TagsMoved)
}
