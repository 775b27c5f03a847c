package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/types"
)

// catalogAccess is how an import uses the catalog.
type catalogAccess int

const (
	// catalogWrite takes the run lock and opens the catalog, creating it
	// when missing.
	catalogWrite catalogAccess = iota
	// catalogPreview only reads: the catalog read-only when the file
	// exists, else an empty scratch catalog, so that a batch of previews
	// (`import -f` documents with import: false) never creates or changes it.
	catalogPreview
)

// importSession is what both import modes (`import REF` and `import -f`)
// run on. setupImport is the one place where the flags they share are
// checked and turned into a logger, credentials and certificates, registry
// clients, signature options, the catalog under its run lock, the importer,
// a progress bar and profiles; finish writes the metrics file. Neither mode
// sets any of these up itself, so the two cannot drift apart again.
type importSession struct {
	f   *importFlags
	log *slog.Logger
	sys *types.SystemContext
	cat catalog.Catalog
	imp *importer.Importer
	// reg is the registry client of the run; insecure, made on demand by
	// insecureClient, fetches what `import -f` documents mark insecure.
	reg, insecure *registry.Client
	// bar is nil when no progress bar is drawn.
	bar   *progressBar
	start time.Time

	closers []func() // run in reverse by close
}

// validate checks the flags both modes share before anything is opened or
// created, so that a bad flag leaves no catalog, lock or profile behind.
func (f *importFlags) validate() error {
	if f.perHost == 0 {
		f.perHost = f.concurrency
	}
	if f.concurrency < 1 || f.perHost < 1 {
		return errors.New("--concurrency and --per-registry must be at least 1")
	}
	if l := f.limits; l.ReferenceTimeout <= 0 || l.ListChildren < 1 || l.SignaturesPerImage < 1 || l.SignatureBytesPerImage < 1 || f.maxListedTags < 1 {
		return errors.New("--reference-timeout, --max-list-children, --max-signatures, --max-signature-bytes and --max-listed-tags must be positive")
	}
	if f.progress != "auto" && f.progress != "always" && f.progress != "never" {
		return fmt.Errorf("--progress %q: want auto, always or never", f.progress)
	}
	for _, p := range []struct{ flag, path, what string }{
		{"--registries-conf", f.registriesConf, "no such file"},
		{"--cert-dir", f.certDir, "no such directory"},
		{"--authfile", f.authFile, "no such file"},
	} {
		if p.path != "" && !fileExists(p.path) {
			return fmt.Errorf("%s %s: %s", p.flag, p.path, p.what)
		}
	}
	// The textfile is written at the end of the run; a directory that is
	// not there would lose the run's figures after all the work is done.
	if f.metricsFile != "" {
		if st, err := os.Stat(filepath.Dir(f.metricsFile)); err != nil || !st.IsDir() {
			return fmt.Errorf("--metrics-file %s: directory %s does not exist", f.metricsFile, filepath.Dir(f.metricsFile))
		}
	}
	return nil
}

// setupImport checks the shared flags and opens everything an import
// needs, in that order: on a usage error (exit 2) nothing was opened or
// created. command is recorded with the run lock. The caller must close
// the session when the code is ExitOK.
func setupImport(ctx context.Context, f *importFlags, access catalogAccess, command string, s Streams) (*importSession, int) {
	if err := f.validate(); err != nil {
		return nil, fail(s, ExitUsage, "import: %v", err)
	}
	log, err := f.log.logger(s.Err)
	if err != nil {
		return nil, fail(s, ExitUsage, "import: %v", err)
	}
	root, err := resolveConfigRoot(f.configRoot, s)
	if err != nil {
		return nil, fail(s, ExitUsage, "import: %v", err)
	}
	sess := &importSession{f: f, log: log, sys: &types.SystemContext{
		AuthFilePath:             f.authFile,
		SystemRegistriesConfPath: f.registriesConf,
		DockerCertPath:           f.certDir,
		// registries.conf and its drop-ins, certs.d and the defaults of
		// --policy and --registries.d are read under it.
		RootForImplicitAbsolutePaths: root,
	}}
	if !f.tlsVerify {
		sess.sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
	}
	sigOpts, err := f.sigs.options(log, sess.sys)
	if err != nil {
		return nil, fail(s, ExitUsage, "import: %v", err)
	}
	tagFilter, err := f.spec.tagFilter()
	if err != nil {
		return nil, fail(s, ExitUsage, "import: %v", err)
	}
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		return nil, fail(s, ExitUsage, "import: %v", err)
	}
	sess.closers = append(sess.closers, stopProfiles)
	if err := sess.openCatalog(ctx, access, command); err != nil {
		sess.close()
		if errors.Is(err, catalog.ErrLocked) {
			return nil, fail(s, ExitLocked, "import: %v", err)
		}
		return nil, fail(s, ExitFatal, "import: %v", err)
	}
	sess.reg = sess.newClient(sess.sys)
	opts := importer.Options{Catalog: sess.cat, Registry: sess.reg, Logger: log, Concurrency: f.concurrency,
		Signatures: sigOpts, TagFilter: tagFilter, ArtifactTagsAsImages: f.sigs.artifactsAsImages, Limits: f.limits,
		DiscardResults: !f.verbose} // the summary prints one line per reference only with -v
	if sess.bar = newProgressBar(s.Err, f.progress); sess.bar != nil {
		opts.Progress = sess.bar
	}
	if sess.imp, err = importer.New(opts); err != nil {
		sess.close()
		return nil, fail(s, ExitFatal, "import: %v", err)
	}
	sess.start = time.Now()
	return sess, ExitOK
}

// openCatalog opens the catalog as access says, with the run lock for
// writes, and arranges for close to release both.
func (sess *importSession) openCatalog(ctx context.Context, access catalogAccess, command string) error {
	opts := catalog.Options{Logger: sess.log}
	if access == catalogPreview {
		if fileExists(sess.f.db) || catalog.IsPostgres(sess.f.db) {
			ro := opts
			ro.ReadOnly = true
			cat, err := catalogdb.Open(ctx, sess.f.db, ro)
			if err == nil {
				sess.cat = cat
				sess.closers = append(sess.closers, func() { cat.Close() })
				return nil
			}
			// An empty PostgreSQL database is previewed like a missing file.
			if !catalog.IsPostgres(sess.f.db) || !errors.Is(err, catalog.ErrNotCatalog) {
				return err
			}
		}
		dir, err := os.MkdirTemp("", "regimport-preview-")
		if err != nil {
			return err
		}
		sess.closers = append(sess.closers, func() { os.RemoveAll(dir) })
		cat, err := catalogdb.Open(ctx, filepath.Join(dir, "preview.db"), opts)
		if err != nil {
			return err
		}
		sess.cat = cat
		sess.closers = append(sess.closers, func() { cat.Close() })
		return nil
	}
	lock, err := catalogdb.LockRuns(sess.f.db, command, sess.f.shard)
	if err != nil {
		return err
	}
	sess.closers = append(sess.closers, func() { lock.Unlock() })
	release := func() {}
	if sess.f.shard.Sharded() {
		// Shards started together must not all migrate a new catalog.
		if release, err = catalogdb.LockOpen(sess.f.db); err != nil {
			return err
		}
	}
	opts.RunLock = lock
	cat, err := catalogdb.Open(ctx, sess.f.db, opts)
	release()
	if err != nil {
		return err
	}
	sess.cat = cat
	sess.closers = append(sess.closers, func() { cat.Close() })
	return nil
}

func (sess *importSession) newClient(sys *types.SystemContext) *registry.Client {
	return registry.New(registry.Options{Sys: sys, Logger: sess.log, PerHostConcurrency: sess.f.perHost, MaxTags: sess.f.maxListedTags,
		Hosts: sess.f.hosts, DockerConfig: sess.f.authFile})
}

// insecureClient is a second client that allows plain HTTP and unverified
// TLS, for what ImageStreamImport documents mark importPolicy.insecure.
func (sess *importSession) insecureClient() *registry.Client {
	if sess.insecure == nil {
		sys := *sess.sys
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
		sess.insecure = sess.newClient(&sys)
	}
	return sess.insecure
}

// stopProgress ends the progress bar, before the summary is printed, and
// returns the run's wall time.
func (sess *importSession) stopProgress() time.Duration {
	if sess.bar != nil {
		sess.bar.Stop()
		sess.bar = nil
	}
	return time.Since(sess.start)
}

// finish writes the metrics file, when asked for, with the run's figures
// and the registry clients' request totals. A metrics file that cannot be
// written is logged, not fatal: the run's work is already committed.
func (sess *importSession) finish(fig runFigures, took time.Duration, exitCode int) {
	if sess.f.metricsFile == "" {
		return
	}
	hosts := sess.reg.Stats()
	if sess.insecure != nil {
		hosts = mergeHostStats(hosts, sess.insecure.Stats())
	}
	if err := writeMetrics(sess.f.metricsFile, fig, took, exitCode, hosts); err != nil {
		sess.log.Error("cannot write metrics", "file", sess.f.metricsFile, "error", err)
	}
}

// close stops the profiles (writing the heap profile), closes the catalog
// and releases the run lock.
func (sess *importSession) close() {
	if sess.bar != nil {
		sess.bar.Stop()
		sess.bar = nil
	}
	for i := len(sess.closers) - 1; i >= 0; i-- {
		sess.closers[i]()
	}
	sess.closers = nil
}

// mergeHostStats adds the totals of a second client's hosts to the first's,
// so that a host both clients reached is one series in the metrics file.
// The RateLimit kept is the first client's unless only the second saw one.
func mergeHostStats(a, b []registry.HostStats) []registry.HostStats {
	out := append([]registry.HostStats(nil), a...)
	at := map[string]int{}
	for i, h := range out {
		at[h.Host] = i
	}
	for _, h := range b {
		i, ok := at[h.Host]
		if !ok {
			at[h.Host] = len(out)
			out = append(out, h)
			continue
		}
		out[i].Requests += h.Requests
		out[i].Throttled += h.Throttled
		if !out[i].RateLimit.Seen {
			out[i].RateLimit = h.RateLimit
		}
	}
	return out
}
