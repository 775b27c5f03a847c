package importer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"golang.org/x/sync/errgroup"
)

// Options configure an Importer.
type Options struct {
	// Catalog receives the images; it must be open for writing.
	Catalog catalog.Catalog
	// Registry fetches from registries; share one per run.
	Registry *registry.Client
	// Logger receives one line per failure and debug lines per target; nil discards.
	Logger *slog.Logger
	// Concurrency is the number of targets fetched at once (default 16);
	// the registry client caps requests per host on top of it.
	Concurrency int
	// Now is the clock (list images' Created); nil uses time.Now.
	Now func() time.Time
	// Signatures configure signature lookup and verification; the zero
	// value looks up none.
	Signatures SignatureOptions
	// Progress, when set, is told the number of targets once they are known
	// and each result as it settles (from several goroutines: it must be
	// safe for concurrent use and quick).
	Progress Progress
	// InterruptGrace is how long targets already in flight may take to
	// finish after the run's context ends (default 10s); then they are cut.
	InterruptGrace time.Duration
	// TagFilter selects the tags of repositories imported whole (AllTags,
	// Catalog); the zero value keeps every tag.
	TagFilter TagFilter
	// Limits bound what one reference may cost; the zero value takes the
	// defaults.
	Limits Limits
	// DiscardResults keeps no Result per target in Run's Summary, only their
	// number by state (Counts, States) and the Failures: a run of many tags
	// then holds nothing for the tags it has written. Progress still sees
	// every Result.
	DiscardResults bool
	// ArtifactTagsAsImages imports the signature and attestation tags of
	// repositories imported whole (see IsArtifactTag) as plain images;
	// by default they are read only as what they are, signatures of their subject.
	ArtifactTagsAsImages bool
}

// Importer runs imports into one catalog.
type Importer struct {
	cat   catalog.Catalog
	reg   *registry.Client
	log   *slog.Logger
	conc  int
	now   func() time.Time
	grace time.Duration
	sigs  SignatureOptions
	prog  Progress
	tags  TagFilter
	// limits are Options.Limits with their defaults.
	limits Limits
	// artifactsAsImages: see Options.ArtifactTagsAsImages.
	artifactsAsImages bool
	// discardResults: see Options.DiscardResults.
	discardResults bool
	// seenHash, when set, replaces the hash under which a run remembers
	// the images it wrote (seenImages); tests make names collide with it.
	seenHash func(maphash.Seed, string) uint64
}

// New checks options and builds an Importer.
func New(opts Options) (*Importer, error) {
	if opts.Catalog == nil || opts.Registry == nil {
		return nil, errors.New("importer: Catalog and Registry are required")
	}
	imp := &Importer{cat: opts.Catalog, reg: opts.Registry, log: opts.Logger, conc: opts.Concurrency, now: opts.Now, grace: opts.InterruptGrace, sigs: opts.Signatures, prog: opts.Progress, tags: opts.TagFilter, limits: opts.Limits.withDefaults(), artifactsAsImages: opts.ArtifactTagsAsImages, discardResults: opts.DiscardResults}
	if imp.grace <= 0 {
		imp.grace = 10 * time.Second
	}
	if imp.log == nil {
		imp.log = slog.New(slog.DiscardHandler)
	}
	if imp.conc <= 0 {
		imp.conc = 16
	}
	if imp.now == nil {
		imp.now = time.Now
	}
	return imp, nil
}

// Progress follows a run: Start with the number of targets known so far
// (called again as tag lists arrive and the total grows), Done for each
// target as it settles.
type Progress interface {
	Start(total int)
	Done(Result)
}

// Run imports everything req names. Per-target failures are in the Summary;
// the error is for the run as a whole. When ctx ends, targets not yet started
// are skipped, what was fetched is still committed, and the run is recorded
// as interrupted.
func (imp *Importer) Run(ctx context.Context, req Request) (Summary, error) {
	if sh := req.Shard; sh.Sharded() && (sh.Index < 0 || sh.Index >= sh.Count) {
		return Summary{}, fmt.Errorf("importer: shard %d of %d does not exist (0 to %d)", sh.Index, sh.Count, sh.Count-1)
	}
	r, err := imp.newRun(ctx, req.Command, req.Shard, true)
	if err != nil {
		return Summary{}, err
	}
	r.summary.Shard = req.Shard
	// The catalog work must outlive an interrupt so that finished images are kept.
	dbctx := context.WithoutCancel(ctx)

	// Targets stream in as tag lists arrive, so workers start on the first
	// repository while the others are still being listed.
	targets := make(chan target, 4*imp.conc)
	go func() {
		defer close(targets)
		var mu sync.Mutex
		known := 0
		r.expand(ctx, dbctx, req, func(ts targetList, fs []catalog.Failure) {
			if imp.prog != nil {
				mu.Lock()
				known += ts.len() + len(fs)
				imp.prog.Start(known)
				mu.Unlock()
			}
			for _, f := range fs {
				r.fail(f)
				if imp.prog != nil {
					imp.prog.Done(Result{Reference: f.Reference, Err: errors.New(f.Reason)})
				}
			}
			for i := range ts.len() {
				select {
				case targets <- ts.at(i):
				case <-ctx.Done():
					return
				}
			}
		})
	}()
	// Targets in flight when ctx ends get a grace period to finish, so an
	// interrupt keeps what was nearly done; new targets stop at once.
	p := imp.newPool(ctx)
	for t := range targets {
		if ctx.Err() != nil {
			break
		}
		p.Go(func(work context.Context) { r.importTarget(work, dbctx, t) }, nil)
	}
	for range targets { // after an interrupt: let the producer finish
	}
	p.Wait()
	return r.finish(dbctx, ctx.Err() != nil, nil)
}

// listTags lists the tags of repositories in parallel and emits each
// repository's targets as soon as its list is in. A list that came back
// whole is also compared with the catalog's current tags (reconcileTags).
func (r *run) listTags(ctx, dbctx context.Context, req Request, repos []reference.Named, inputs []string, emit func(targetList, []catalog.Failure)) {
	imp := r.imp
	g := errgroup.Group{}
	g.SetLimit(imp.conc)
	for i, name := range repos {
		g.Go(func() error {
			filter := imp.tags
			if f, ok := req.TagFilters[inputs[i]]; ok {
				filter = f
			}
			tags, known, err := r.repositoryTags(ctx, dbctx, name, filter)
			if err != nil {
				emit(targetList{}, []catalog.Failure{{Reference: name.Name(), Reason: "list tags: " + err.Error()}})
				return nil
			}
			spelled := spelledRepository(inputs[i], name) // once, not per image
			emit(targetList{repo: name, input: inputs[i], spelled: spelled, tags: tags, known: known}, nil)
			return nil
		})
	}
	_ = g.Wait()
}

// repositoryTags lists a repository's tags, compares a whole list with the
// catalog and returns the tags to import, with the catalog's current tags
// it compared with (nil when not read). A panic in it fails this
// repository alone.
func (r *run) repositoryTags(ctx, dbctx context.Context, name reference.Named, filter TagFilter) (tags []string, known map[string]string, err error) {
	defer r.imp.recoverAs(name.Name(), &err)
	repo, err := r.main.reg.Repository(name)
	if err != nil {
		return nil, nil, err
	}
	if tags, err = repo.Tags(ctx); err != nil {
		return nil, nil, err
	}
	r.main.noteListing(name.Name(), tags)
	if !r.imp.artifactsAsImages {
		var artifacts []string
		if tags, artifacts = withoutArtifactTags(tags); len(artifacts) > 0 {
			r.imp.log.Debug("signature and attestation tags not imported as images", "repository", name.Name(), "tags", len(artifacts))
		}
	}
	known = r.reconcileTags(ctx, dbctx, name, tags, filter)
	tags, err = r.main.filterTags(ctx, name, tags, filter)
	return tags, known, err
}

// importTarget fetches one tag or digest (and a list's children) and queues
// the images and the tag for the writer. It does not wait for the commit:
// the result is settled by the writer's callbacks, so workers keep fetching
// while a batch commits. The fetch has the reference timeout; a panic in
// it fails this target alone (see guard).
func (r *run) importTarget(ctx, dbctx context.Context, t target) {
	res := &Result{Reference: t.String()}
	var pending []*pendingImage
	var top digest.Digest
	unchanged := false
	err := r.imp.guard(ctx, res.Reference, func(ctx context.Context) error {
		if unchanged = r.main.unchangedTag(ctx, t, res); unchanged {
			// The images are stored; this repository's signatures of them may
			// never have been looked up (another repository imported them, or
			// an older catalog kept one verdict per image).
			var err error
			pending, err = r.main.pairsOfStoredImage(ctx, t, res.Image)
			return err
		}
		var err error
		pending, top, err = r.main.fetchTarget(ctx, t, res, nil)
		return err
	})
	switch {
	case err != nil:
		if TagGone(err) {
			r.q.RemoveTags(dbctx, t.repo.Name(), []string{t.tag}, catalog.ReasonNotFound, r.removed(t.repo.Name()))
		}
		r.settle(res, err)
	case unchanged:
		r.mu.Lock()
		r.summary.ImagesUnchanged++
		r.mu.Unlock()
		r.store(dbctx, t, "", pending, res, false)
	default:
		r.store(dbctx, t, top, pending, res, true)
	}
}

// unchangedTag asks the registry for a known tag's digest with one HEAD and
// reports whether it still points where the catalog says. Any doubt (an
// unknown tag, a registry that answers HEAD without a digest, an error)
// falls back to the full fetch.
func (r *fetcher) unchangedTag(ctx context.Context, t target, res *Result) bool {
	if t.tag == "" || t.dgst != "" {
		return false
	}
	if r.emptyAtStart {
		return false
	}
	known := t.known
	if !t.knownRead {
		var err error
		if known, err = r.imp.cat.TagImage(ctx, t.repo.Name(), t.tag); err != nil {
			return false
		}
	}
	if known == "" {
		return false
	}
	repo, err := r.repository(t.repo)
	if err != nil {
		return false
	}
	desc, err := repo.HeadManifest(ctx, t.tag)
	if err != nil || desc.Digest.String() != known {
		if err != nil {
			r.imp.log.Debug("HEAD failed, fetching", "reference", t.String(), "error", err)
		}
		return false
	}
	res.Image, res.MediaType = known, desc.MediaType
	return true
}

// settle records a finished target.
func (r *run) settle(res *Result, err error) {
	if err != nil {
		res.Err = err
		r.fail(failure(res.Reference, err))
	}
	r.mu.Lock()
	if r.imp.discardResults {
		r.summary.dropped[res.State()]++
	} else {
		r.summary.Results = append(r.summary.Results, *res)
	}
	if res.Err == nil && !res.Previewed && res.Image != "" && r.imp.sigs.enabled() {
		r.stored = append(r.stored, storedRef{reference: res.Reference, image: res.Image})
	}
	r.mu.Unlock()
	if r.imp.prog != nil {
		r.imp.prog.Done(*res)
	}
}

// store queues images (children before their list, so a stored list always
// has its children), then the verdicts of images stored before, then the
// tag (withTag). The queue applies them in order; the last callback
// settles the target.
func (r *run) store(dbctx context.Context, t target, top digest.Digest, pending []*pendingImage, res *Result, withTag bool) {
	st := &storeState{run: r, res: res}
	ops, known := 0, 0
	for _, p := range pending {
		switch {
		case p.rec != nil:
			ops++
		case p.verification != nil:
			ops++
			fallthrough
		default:
			if !p.verdictOnly {
				known++
			}
		}
	}
	r.mu.Lock()
	r.summary.ImagesUnchanged += known
	r.mu.Unlock()
	withTag = withTag && t.tag != ""
	if withTag {
		ops++
	}
	if ops == 0 {
		st.finish()
		return
	}
	st.remaining = ops
	for _, p := range pending {
		if p.rec == nil {
			continue
		}
		name, config := p.name, p.configDigest
		if p.manifest != nil {
			r.main.manifests.store(name, p.manifest)
		}
		r.q.PutImage(dbctx, *p.rec, func(o catalog.Outcome, err error) {
			r.main.manifests.forget(name)
			if config != "" {
				r.main.configBlobs.forget(config)
			}
			r.main.seen.settle(name, err == nil)
			st.done(o, err)
		})
		// Only now that the write is in the queue may other targets count
		// on it (seenImages).
		r.main.seen.queue(name)
	}
	for _, p := range pending {
		if p.rec == nil && p.verification != nil {
			r.q.PutVerification(dbctx, p.name, *p.verification, func(_ catalog.Outcome, err error) { st.done(catalog.Unchanged, err) })
		}
	}
	if withTag {
		tag := catalog.TagRecord{Repository: t.repo.Name(), Tag: t.tag, Image: top.String(),
			DockerImageReference: t.source() + "@" + top.String()}
		r.q.PutTag(dbctx, tag, st.done)
	}
}

// storeState gathers the queue's callbacks for one target.
type storeState struct {
	run       *run
	res       *Result
	mu        sync.Mutex
	remaining int
	// outcome is the most the writes did: Created over Updated over Unchanged.
	outcome catalog.Outcome
	errs    []error
}

func (st *storeState) done(o catalog.Outcome, err error) {
	st.mu.Lock()
	if err != nil {
		st.errs = append(st.errs, err)
	} else if o == catalog.Created || o == catalog.Updated && st.outcome == catalog.Unchanged {
		st.outcome = o
	}
	st.remaining--
	last := st.remaining == 0
	st.mu.Unlock()
	if last {
		st.finish()
	}
}

// finish settles the target: a new image, or a tag seen for the first
// time or moved, is an import; only a target that changed nothing at all
// is unchanged.
func (st *storeState) finish() {
	st.res.Outcome = st.outcome
	st.run.settle(st.res, errors.Join(st.errs...))
}
