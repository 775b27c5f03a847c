package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/copy"
	"go.podman.io/image/v5/docker"
	"go.podman.io/image/v5/docker/reference"
	"go.podman.io/image/v5/manifest"
	"go.podman.io/image/v5/signature"
	"go.podman.io/image/v5/types"
	"golang.org/x/sync/errgroup"
)

// Recorder keeps what an apply did; the catalog is one.
type Recorder interface {
	RecordMirrored(ctx context.Context, runID int64, t catalog.MirroredTag) error
}

// Progress follows an apply: the number of tags, then each one's end.
type Progress interface {
	Start(total int)
	Tag(failed bool)
}

// Applier copies plans. Its fields are set once; Apply may then run.
type Applier struct {
	// Sys carries credentials, per-registry TLS and certificates, and
	// registries.d (where simple signatures and sigstore attachments go).
	Sys *types.SystemContext
	// Registry is the project's registry client: HEAD at the destination,
	// referrers at the source. The same credentials and TLS as Sys.
	Registry *registry.Client
	Recorder Recorder
	RunID    int64
	// Concurrency is how many tags are copied at once (at least 1).
	Concurrency int
	DryRun      bool
	// Prune deletes the plan's Deletions.
	Prune    bool
	Logger   *slog.Logger
	Progress Progress
	// Known maps source repository:tag to the digest the catalog last
	// recorded at this destination (catalog.LastMirrored): a tag found
	// present at that digest again is not recorded again, so an unchanged
	// apply adds no rows.
	Known map[string]string
	// Attempts is how many times a copy is tried when the failure may be
	// transient (5xx, a reset connection); 0 means 3.
	Attempts int

	referrers registry.ReferrerLookup
}

// Outcome is what happened to one tag.
type Outcome struct {
	Source, Tag, Digest string
	Destination         string // repository:tag
	Action              string // catalog.MirrorCopied, MirrorPresent, MirrorDeleted, MirrorFailed; "would copy"/"would delete" in a dry run
	Reason              string
	Referrers           int // referrers copied with the image
}

// Result is what an apply did, tag by tag.
type Result struct {
	Outcomes    []Outcome
	Interrupted bool
}

// Count returns how many outcomes had an action.
func (r Result) Count(action string) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Action == action {
			n++
		}
	}
	return n
}

// Dry-run actions.
const (
	WouldCopy   = "would copy"
	WouldDelete = "would delete"
)

// Apply copies a plan's tags, each at its planned digest, and with Prune
// deletes its deletions. A tag that fails is an outcome, not an error: the
// error is for the apply as a whole (the catalog could not record).
func (a *Applier) Apply(ctx context.Context, p *Plan) (Result, error) {
	if a.Logger == nil {
		a.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	total := len(p.Copies)
	if a.Prune {
		total += len(p.Deletions)
	}
	if a.Progress != nil {
		a.Progress.Start(total)
	}
	var mu sync.Mutex
	var res Result
	var recordErr error
	done := func(o Outcome) {
		mu.Lock()
		defer mu.Unlock()
		res.Outcomes = append(res.Outcomes, o)
		if a.Progress != nil {
			a.Progress.Tag(o.Action == catalog.MirrorFailed)
		}
		if a.DryRun || a.Recorder == nil || o.Action == WouldCopy || o.Action == WouldDelete ||
			o.Action == catalog.MirrorPresent && a.Known[o.Source+":"+o.Tag] == o.Digest {
			return
		}
		// Destination is repository:tag; the repository may have a port.
		i := strings.LastIndex(o.Destination, ":")
		destRepo, destTag := o.Destination[:i], o.Destination[i+1:]
		// What was copied is recorded even if the run is being cancelled.
		if err := a.Recorder.RecordMirrored(context.WithoutCancel(ctx), a.RunID, catalog.MirroredTag{
			SourceRepository: o.Source, Tag: o.Tag, DestinationRepository: destRepo, DestTag: destTag,
			Image: o.Digest, Action: o.Action, Reason: o.Reason}); err != nil && recordErr == nil {
			recordErr = err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(a.Concurrency, 1))
	for _, c := range p.Copies {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			// A PolicyContext is not safe for concurrent use (it keeps
			// a state across one evaluation): one per copy.
			policy, err := copyPolicy()
			if err != nil {
				return err
			}
			defer policy.Destroy()
			done(a.copyTag(gctx, policy, c))
			return nil
		})
	}
	if a.Prune {
		for _, d := range p.Deletions {
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error {
				if o, ok := a.deleteTag(gctx, d); ok {
					done(o)
				}
				return nil
			})
		}
	}
	g.Wait()
	res.Interrupted = ctx.Err() != nil
	return res, recordErr
}

// destinationDigest asks the destination, with one HEAD, what a tag
// points at: "" when it has no such tag.
func (a *Applier) destinationDigest(ctx context.Context, repo, tag string) (digest.Digest, error) {
	named, err := reference.ParseNormalizedNamed(repo)
	if err != nil {
		return "", fmt.Errorf("destination %s: %w", repo, err)
	}
	r, err := a.Registry.Repository(named)
	if err != nil {
		return "", err
	}
	d, err := r.HeadManifest(ctx, tag)
	if errors.Is(err, registry.ErrNotFound) {
		return "", nil
	}
	return d.Digest, err
}

func (a *Applier) copyTag(ctx context.Context, policy *signature.PolicyContext, c Copy) Outcome {
	o := Outcome{Source: c.Source, Tag: c.Tag, Digest: c.Digest, Destination: c.DestinationRef()}
	have, err := a.destinationDigest(ctx, c.Destination, c.Tag)
	if err != nil {
		// A destination that will not say is asked again by the copy,
		// which fails with its reason if it must.
		a.Logger.Debug("HEAD at the destination failed; copying", "destination", o.Destination, "error", err)
	}
	if have.String() == c.Digest {
		o.Action = catalog.MirrorPresent
		return o
	}
	if a.DryRun {
		o.Action = WouldCopy
		return o
	}
	n, err := a.copyImage(ctx, policy, c)
	o.Referrers = n
	if err != nil {
		o.Action, o.Reason = catalog.MirrorFailed, err.Error()
		a.Logger.Warn("mirror copy failed", "source", c.SourceRef(), "destination", o.Destination, "error", err)
		return o
	}
	o.Action = catalog.MirrorCopied
	a.Logger.Info("mirrored", "source", c.SourceRef(), "destination", o.Destination, "referrers", n)
	return o
}

// copyImage copies every platform of the image at its planned digest (the
// source is named by digest, so a tag that moved since the plan is not
// followed), its signatures as registries.d places them, then its OCI
// referrers. It returns how many referrers were copied.
func (a *Applier) copyImage(ctx context.Context, policy *signature.PolicyContext, c Copy) (int, error) {
	src, err := docker.ParseReference("//" + c.SourceRef())
	if err != nil {
		return 0, fmt.Errorf("source %s: %w", c.SourceRef(), err)
	}
	dst, err := docker.ParseReference("//" + c.DestinationRef())
	if err != nil {
		return 0, fmt.Errorf("destination %s: %w", c.DestinationRef(), err)
	}
	var top []byte
	err = a.retry(ctx, func() error {
		var err error
		top, err = copy.Image(ctx, policy, dst, src, a.copyOptions(copy.CopyAllImages))
		return err
	})
	if err != nil {
		return 0, err
	}
	subjects := []digest.Digest{digest.Digest(c.Digest)}
	if manifest.MIMETypeIsMultiImage(manifest.GuessMIMEType(top)) {
		if list, err := manifest.ListFromBlob(top, manifest.GuessMIMEType(top)); err == nil {
			subjects = append(subjects, list.Instances()...)
		}
	}
	n := 0
	for _, s := range subjects {
		k, err := a.copyReferrers(ctx, policy, c, s)
		n += k
		if err != nil {
			return n, fmt.Errorf("image copied, but not its referrers: %w", err)
		}
	}
	return n, nil
}

// copyPolicy is the policy copies run under: accept anything. A mirror
// copies bytes; which tags may be copied was decided from the catalog's
// verdicts when the plan was made (--require accepted).
func copyPolicy() (*signature.PolicyContext, error) {
	return signature.NewPolicyContext(&signature.Policy{Default: signature.PolicyRequirements{signature.NewPRInsecureAcceptAnything()}})
}

func (a *Applier) copyOptions(sel copy.ImageListSelection) *copy.Options {
	return &copy.Options{SourceCtx: a.Sys, DestinationCtx: a.Sys, ImageListSelection: sel, PreserveDigests: true}
}

// retry runs a copy up to Attempts times while its failure may pass. A
// refusal (401, 403, quota, a missing manifest) is final at once.
func (a *Applier) retry(ctx context.Context, fn func() error) error {
	attempts := a.Attempts
	if attempts <= 0 {
		attempts = 3
	}
	var err error
	for i := 0; i < attempts; i++ {
		if err = fn(); err == nil || permanent(err) || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(i+1) * 200 * time.Millisecond):
		}
	}
	return err
}

// permanent tells a registry's refusal from a failure worth retrying.
func permanent(err error) bool {
	var unauthorized docker.ErrUnauthorizedForCredentials
	if errors.As(err, &unauthorized) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"denied", "unauthorized", "forbidden", "quota", "manifest unknown", "not found", "invalid", "unsupported"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
