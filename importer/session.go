package importer

import (
	"context"
	"errors"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Session is one import run driven by another import mode than Run
// (package streamimport): the orchestration Run uses too (run record,
// single writer, worker pool with its interrupt grace, failures and
// verdicts) and fetchers, the core that returns normalized images.
type Session struct{ r *run }

// Begin starts a session. With record it begins a catalog run, recorded
// as command, and opens the run's single writer; without, the session
// writes nothing at all (Writer is nil, Record must not be called).
func (imp *Importer) Begin(ctx context.Context, command string, record bool) (*Session, error) {
	r, err := imp.newRun(ctx, command, catalog.Shard{}, record)
	if err != nil {
		return nil, err
	}
	return &Session{r: r}, nil
}

// Queue is the run's one write queue, nil when the session records nothing.
func (s *Session) Queue() *Queue { return s.r.q }

// Catalog is the catalog the session imports into, for reads.
func (s *Session) Catalog() catalog.Catalog { return s.r.imp.cat }

// Now is the Importer's clock.
func (s *Session) Now() time.Time { return s.r.imp.now() }

// Pool runs jobs as Run runs its targets: on the Importer's concurrency,
// skipping those not started when ctx ends, with the grace period for
// those in flight.
func (s *Session) Pool(ctx context.Context) *Pool { return s.r.imp.newPool(ctx) }

// Progress is the Importer's progress display, nil when there is none.
func (s *Session) Progress() Progress { return s.r.imp.prog }

// ImageTags drops the signature and attestation tags (see IsArtifactTag)
// unless the Importer imports them as images.
func (s *Session) ImageTags(tags []string) []string {
	if s.r.imp.artifactsAsImages {
		return tags
	}
	tags, _ = withoutArtifactTags(tags)
	return tags
}

// Finish ends the session once its jobs are done, as Run ends: it closes
// the queue, gathers the Summary (failures and verdicts of the signature
// lookups, what the writes did), lets complete add the mode's own results
// and failures and return its references by outcome (nil: from
// Summary.Counts), and records the run. The error is for the run as a
// whole.
func (s *Session) Finish(ctx context.Context, interrupted bool, complete func(*Summary, error) *catalog.RunCounts) (Summary, error) {
	return s.r.finish(ctx, interrupted, complete)
}

// Fetcher fetches through reg (nil: the Importer's client). Each client
// gets fetchers of its own, so what one could not fetch is never shared
// with another (insecure imports use a second client explicitly).
func (s *Session) Fetcher(reg *registry.Client) *Fetcher {
	return &Fetcher{f: s.r.via(reg)}
}

// Fetcher is the core of an import as other modes use it: it fetches
// targets and returns normalized images, and lists and filters tags.
type Fetcher struct{ f *fetcher }

// Target is one tag or digest to fetch.
type Target struct {
	// Repository is the normalized repository name.
	Repository string
	// Tag or Digest, or both for repo:tag@digest (the digest is fetched).
	Tag, Digest string
	// Spelled is the repository as the user wrote it (references keep it).
	Spelled string
	// Input is what the user wrote, for messages.
	Input string
}

// Fetched is a fetched target.
type Fetched struct {
	// Resolved is the manifest the tag or digest resolved to.
	Resolved string
	// Top is the image the target stands for: Resolved, or the child
	// Legacy mode picked from it.
	Top string
	// Images are the images to store, children before their list, with
	// Record nil for those the catalog (or this run) has already.
	Images []FetchedImage
}

// FetchedImage is one image of a Fetched target.
type FetchedImage struct {
	Name string
	// Record is the image to store, with its verdict; nil when it is
	// stored already.
	Record *catalog.ImageRecord
	// Verification is, for an image stored already, this repository's
	// verdict when it had none yet.
	Verification *catalog.Verification
}

// Fetch fetches one target: a list whole when legacy is nil
// (PreserveOriginal), else only the child Legacy mode picks for legacy's
// platform.
func (f *Fetcher) Fetch(ctx context.Context, t Target, legacy *catalog.Platform) (Fetched, error) {
	named, err := parseReference(t.Repository)
	if err != nil {
		return Fetched{}, err
	}
	tt := target{repo: reference.TrimNamed(named), tag: t.Tag, dgst: t.Digest, input: t.Input, spelled: t.Spelled}
	res := &Result{Reference: tt.String()}
	var pending []*pendingImage
	var top digest.Digest
	err = f.f.imp.guard(ctx, res.Reference, func(ctx context.Context) error {
		pending, top, err = f.f.fetchTarget(ctx, tt, res, legacy)
		return err
	})
	if err != nil {
		return Fetched{}, err
	}
	out := Fetched{Resolved: res.Image, Top: top.String(), Images: make([]FetchedImage, len(pending))}
	for i, p := range pending {
		out.Images[i] = FetchedImage{Name: p.name, Record: p.rec, Verification: p.verification}
	}
	return out, nil
}

// Tags lists a repository's tags.
func (f *Fetcher) Tags(ctx context.Context, repository string) ([]string, error) {
	repo, err := f.repository(repository)
	if err != nil {
		return nil, err
	}
	tags, err := repo.Tags(ctx)
	if err == nil {
		f.f.noteListing(repo.Name().Name(), tags)
	}
	return tags, err
}

// GoneTags works out which of a repository's current tags a complete tag
// list removes, and why; doubt names the tags an empty list could not
// confirm gone (they stay).
func (f *Fetcher) GoneTags(ctx context.Context, repository string, listed []string, filter TagFilter) (gone []string, reason, doubt string, err error) {
	repo, err := f.repository(repository)
	if err != nil {
		return nil, "", "", err
	}
	return f.f.imp.goneTags(ctx, repo, listed, filter)
}

// Newest keeps the n tags whose images were created last (TagFilter.Newest),
// reading a list's children as Fetch would (legacy).
func (f *Fetcher) Newest(ctx context.Context, repository string, tags []string, n int, legacy *catalog.Platform) ([]string, error) {
	named, err := parseReference(repository)
	if err != nil {
		return nil, err
	}
	return f.f.newest(ctx, reference.TrimNamed(named), tags, n, legacy)
}

func (f *Fetcher) repository(repository string) (*registry.Repository, error) {
	named, err := parseReference(repository)
	if err != nil {
		return nil, err
	}
	return f.f.repository(reference.TrimNamed(named))
}

// TagGone reports whether err says a tag itself is gone from its
// repository (not the registry or the repository).
func TagGone(err error) bool {
	var gone *errTagNotFound
	return errors.As(err, &gone)
}

// ReasonOf is the Kubernetes Status reason OpenShift reports for an
// import error.
func ReasonOf(err error) metav1.StatusReason { return reasonOf(err) }
