package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/jobconfig"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
)

type importFlags struct {
	maxListedTags  int
	db             string
	allTags        bool
	catalog        bool
	concurrency    int
	perHost        int
	tlsVerify      bool
	authFile       string
	registriesConf string
	certDir        string
	configRoot     string
	config         string
	metricsFile    string
	progress       string
	verbose        bool
	cpuProfile     string
	memProfile     string
	sigs           signatureFlags
	spec           specFlags
	shards         shardFlags
	log            logFlags
	limits         importer.Limits
	hosts          map[string]registry.HostOptions
	// shard is the part of a sharded import this run takes (resolved from
	// shards); zero when unsharded.
	shard catalog.Shard
	// mirrorJobs are the configuration's mirror destinations (import_mirrors.go).
	mirrorJobs []jobconfig.MirrorJob
}

func runImport(ctx context.Context, args []string, s Streams) int {
	var f importFlags
	fs := newFlagSet("import", s)
	fs.StringVar(&f.db, "db", "catalog.db", dbUsage+" (created when missing)")
	fs.BoolVar(&f.allTags, "all-tags", false, "import every tag of each repository REF")
	fs.BoolVar(&f.catalog, "catalog", false, "treat each REF as a registry host (or host/namespace) and import every repository /v2/_catalog lists")
	fs.IntVar(&f.concurrency, "concurrency", 16, "references fetched at once")
	fs.IntVar(&f.perHost, "per-registry", 0, "requests in flight to one registry host (default: --concurrency)")
	fs.BoolVar(&f.tlsVerify, "tls-verify", true, "verify TLS certificates; false also allows plain HTTP")
	fs.StringVar(&f.authFile, "authfile", "", "auth file (auth.json or Docker config.json; default: containers' and Docker's usual places)")
	fs.StringVar(&f.registriesConf, "registries-conf", "", "registries.conf for mirrors, blocked and insecure registries (default: containers' usual places, /etc/containers/registries.conf under --config-root)")
	fs.StringVar(&f.certDir, "cert-dir", "", "directory of client certificates and CAs (*.crt, *.cert, *.key) for every registry")
	registerConfigRoot(fs, &f.configRoot)
	fs.StringVar(&f.config, "config", "", "configuration file for scheduled runs (see configs/example.yaml); flags given too override it")
	fs.StringVar(&f.metricsFile, "metrics-file", "", "write Prometheus text metrics of the run to this file (node_exporter textfile collector)")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when a terminal), always or never")
	fs.BoolVar(&f.verbose, "v", false, "print one line per reference")
	fs.StringVar(&f.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the run to this file")
	fs.StringVar(&f.memProfile, "mem-profile", "", "write a Go heap profile at the end of the run to this file")
	fs.DurationVar(&f.limits.ReferenceTimeout, "reference-timeout", importer.DefaultReferenceTimeout, "longest one reference (a tag or digest, with a list's children and signatures) may take; then it fails and the run goes on")
	fs.IntVar(&f.maxListedTags, "max-listed-tags", registry.DefaultMaxTags, "most tags one repository's tag list may hold (--all-tags, --catalog); a longer list fails that repository, naming the cap")
	fs.IntVar(&f.limits.ListChildren, "max-list-children", importer.DefaultListChildren, "most entries a manifest list may have; a larger list fails its reference")
	fs.IntVar(&f.limits.SignaturesPerImage, "max-signatures", importer.DefaultSignaturesPerImage, "most signatures and attestations stored per image, from every source together")
	fs.Int64Var(&f.limits.SignatureBytesPerImage, "max-signature-bytes", importer.DefaultSignatureBytesPerImage, "most bytes of signatures and attestations stored per image (they are served inside the Image)")
	f.sigs.register(fs)
	f.spec.register(fs)
	f.shards.register(fs)
	f.log.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(s.Err, "Usage: regimport import [flags] REF...\n       regimport import --config FILE [flags]\n       regimport import -f FILE|DIR|- [flags]   (ImageStreamImport documents)\n\nREF is host/repo:tag, host/repo@sha256:..., a repository with --all-tags,\nor a registry host (host/namespace) with --catalog.\n\nFlags:")
		fs.PrintDefaults()
	}
	refs, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(f.spec.files) > 0 {
		// A document's status covers all its images: split by repository,
		// no shard could write it whole.
		if given := f.shards.given(fs); len(given) > 0 {
			return fail(s, ExitUsage, "import: -f does not shard (%s): an ImageStreamImport's status covers all its images, so its images cannot be split across shards; shard `import REF` or `import --config`", strings.Join(given, ", "))
		}
		return runImportSpec(ctx, &f, args, refs, s)
	}
	if f.shard, err = f.shards.resolve(fs, args, s); err != nil {
		return fail(s, ExitUsage, "import: %v", err)
	}
	req := importer.Request{References: refs, AllTags: f.allTags, Catalog: f.catalog, Command: "import " + quoteArgs(args), Shard: f.shard}
	if f.config != "" {
		if err := f.applyConfig(fs, &req); err != nil {
			return fail(s, ExitUsage, "import: %v", err)
		}
	}
	if len(req.References)+len(req.Repositories)+len(req.Registries) == 0 {
		fs.Usage()
		return fail(s, ExitUsage, "import: no REF given (and no --config)")
	}
	if f.allTags && f.catalog {
		return fail(s, ExitUsage, "import: --all-tags and --catalog exclude each other (--catalog imports every tag already)")
	}
	sess, code := setupImport(ctx, &f, catalogWrite, "regimport import "+quoteArgs(args), s)
	if code != ExitOK {
		return code
	}
	defer sess.close()
	sum, err := sess.imp.Run(ctx, req)
	took := sess.stopProgress()
	printSummary(s.Out, sum, took, f.verbose)
	printPullBlocked(s.Out, sum)
	code = importExitCode(sum, err)
	code = runConfiguredMirrors(ctx, sess, f.mirrorJobs, sum.RunID, code, s)
	sess.finish(summaryFigures(sum), took, code)
	if err != nil {
		return fail(s, ExitFatal, "import: %v", err)
	}
	return code
}

// importExitCode ranks outcomes: fatal, interrupted, partial, rejected, ok.
func importExitCode(sum importer.Summary, err error) int {
	return outcomeCode(err, sum.Interrupted, len(sum.Failures), len(sum.PullBlocked)) // pull verdicts: exit 4
}

// outcomeCode is the exit code of an import of either kind (references or
// ImageStreamImport documents).
func outcomeCode(err error, interrupted bool, failed, rejected int) int {
	switch {
	case err != nil:
		return ExitFatal
	case interrupted:
		return ExitInterrupted
	case failed > 0:
		return ExitPartial
	case rejected > 0:
		return ExitRejected
	}
	return ExitOK
}

// applyConfig takes settings from the configuration file where the
// corresponding flag was not given, and its sources.
func (f *importFlags) applyConfig(fs *flag.FlagSet, req *importer.Request) error {
	c, err := jobconfig.Load(f.config)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	pick := func(name string, dst *string, v string) {
		if !set[name] && v != "" {
			*dst = v
		}
	}
	pick("db", &f.db, c.Catalog)
	pick("authfile", &f.authFile, c.AuthFile)
	pick("registries-conf", &f.registriesConf, c.RegistriesConf)
	pick("cert-dir", &f.certDir, c.CertDir)
	pick("metrics-file", &f.metricsFile, c.MetricsFile)
	pick("policy", &f.sigs.policy, c.Policy)
	pick("registries.d", &f.sigs.registriesD, c.RegistriesD)
	if !set["concurrency"] && c.Concurrency > 0 {
		f.concurrency = c.Concurrency
	}
	if !set["tls-verify"] && c.TLSVerify != nil {
		f.tlsVerify = *c.TLSVerify
	}
	f.hosts = map[string]registry.HostOptions{}
	first := map[string]string{}
	for _, r := range c.Registries {
		// docker.io, index.docker.io and registry-1.docker.io are one host.
		key := registry.CanonicalHost(r.Host)
		if prev, dup := first[key]; dup {
			return fmt.Errorf("%s: registries: %q and %q are the same registry; keep one entry", f.config, prev, r.Host)
		}
		first[key] = r.Host
		f.hosts[key] = registry.HostOptions{Concurrency: r.Concurrency, RequestsPerSecond: r.RequestsPerSecond, HTTP1: r.HTTP == "1.1", TLSVerify: r.TLSVerify}
	}
	req.TagFilters = c.TagFilters()
	f.mirrorJobs = c.MirrorJobs()
	images, repos, regs := c.Requests()
	req.References = append(req.References, images...)
	req.Repositories = append(req.Repositories, repos...)
	req.Registries = append(req.Registries, regs...)
	return nil
}

func printSummary(w io.Writer, sum importer.Summary, took time.Duration, verbose bool) {
	results := append([]importer.Result(nil), sum.Results...)
	sort.Slice(results, func(i, j int) bool { return results[i].Reference < results[j].Reference })
	if verbose {
		for _, r := range results {
			if r.Err != nil {
				continue
			}
			extra := ""
			if r.Children > 0 {
				extra = fmt.Sprintf(" (list of %d)", r.Children)
			}
			fmt.Fprintf(w, "%-9s %s -> %s%s\n", r.State(), r.Reference, r.Image, extra)
		}
	}
	failures := append([]catalog.Failure(nil), sum.Failures...)
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
		fmt.Fprintf(w, "signatures of (repository, image) pairs: %d accepted, %d rejected, %d unevaluated, %d without a policy; verification took %s (summed over workers)\n",
			sum.Verdicts[signatures.VerdictAccepted], sum.Verdicts[signatures.VerdictRejected], sum.Verdicts[catalog.VerdictUnevaluated],
			sum.Verdicts[signatures.VerdictNoPolicy], sum.VerifyTime.Round(time.Millisecond))
	}
	for _, h := range sum.Registries {
		if h.RateLimit.Seen || h.Throttled > 0 {
			fmt.Fprintf(w, "registry %s: %d requests, %d answered 429; rate limit: %s\n", h.Host, h.Requests, h.Throttled, h.RateLimit)
		}
	}
	repos := ""
	if sum.RepositoriesRemoved > 0 {
		repos = fmt.Sprintf("; repositories: %d removed", sum.RepositoriesRemoved)
	}
	if sum.Shard.Sharded() {
		state = fmt.Sprintf(" (shard %s of %q)", sum.Shard, sum.Shard.Group) + state
	}
	fmt.Fprintf(w, "run %d%s: %d imported, %d unchanged, %d failed in %s; images: %d new, %d already stored; tags: %d new, %d moved, %d removed%s\n",
		sum.RunID, state, imported, unchanged, failed, took.Round(time.Millisecond),
		sum.ImagesCreated, sum.ImagesUnchanged, sum.TagsCreated, sum.TagsMoved, sum.TagsRemoved, repos)
}
