package mirror

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/regimport/regimport/catalog"
)

// PlanAPIVersion and PlanKind name the JSON plan's schema.
const (
	PlanAPIVersion = "regimport.io/v1"
	PlanKind       = "MirrorPlan"
)

// Plan is what a mirror must do: copy, hold back, delete.
type Plan struct {
	APIVersion  string    `json:"apiVersion"`
	Kind        string    `json:"kind"`
	Destination string    `json:"destination"`
	Selectors   Selectors `json:"selectors"`
	Copies      []Copy    `json:"copies"`
	HeldBack    []Held    `json:"heldBack"`
	// Deletions are acted on only by an apply with Prune.
	Deletions []Deletion `json:"deletions"`
}

// Selectors say which tags a plan covers.
type Selectors struct {
	Repository      string `json:"repository,omitempty"` // glob over host/path
	Since           string `json:"since,omitempty"`      // as given: a run id or an RFC 3339 time
	RequireAccepted bool   `json:"requireAccepted"`
}

// Copy is one tag to copy, by digest.
type Copy struct {
	Source      string          `json:"source"` // host/path
	Tag         string          `json:"tag"`
	Digest      string          `json:"digest"`
	MediaType   string          `json:"mediaType"`
	Destination string          `json:"destination"` // host/path
	ChangedAt   time.Time       `json:"changedAt"`
	Verdict     catalog.Verdict `json:"verdict"`
}

// SourceRef is the copy's source by digest: repository@sha256:...
func (c Copy) SourceRef() string { return c.Source + "@" + c.Digest }

// DestinationRef is where the copy goes: repository:tag.
func (c Copy) DestinationRef() string { return c.Destination + ":" + c.Tag }

// Held is a tag policy keeps back, with why.
type Held struct {
	Source  string          `json:"source"`
	Tag     string          `json:"tag"`
	Digest  string          `json:"digest"`
	Verdict catalog.Verdict `json:"verdict"`
	Reason  string          `json:"reason"`
}

// Deletion is a tag removed upstream (recorded from a complete listing)
// that the destination should lose too.
type Deletion struct {
	Source      string    `json:"source"`
	Tag         string    `json:"tag"`
	Destination string    `json:"destination"`
	Digest      string    `json:"digest"` // what the tag pointed at when removed
	RemovedAt   time.Time `json:"removedAt"`
	Reason      string    `json:"reason"`
	// StillTagged are the source repository's current tags that point at
	// Digest. Registries delete manifests by digest, which takes every tag
	// on it: such a deletion is refused rather than take those along.
	StillTagged []string `json:"stillTagged,omitempty"`
}

// Facts is what Build reads from the catalog.
type Facts interface {
	MirrorSourceTags(ctx context.Context) ([]catalog.MirrorSourceTag, error)
	MirrorRemovedTags(ctx context.Context) ([]catalog.MirrorRemovedTag, error)
	RunStarted(ctx context.Context, id int64) (time.Time, error)
}

// Options select what a plan covers.
type Options struct {
	Destination Destination
	// Repository is a glob over host/path (* and ? match / too), or
	// several separated by commas; "" is all.
	Repository string
	// Since is a run id (tags changed by that run or a later one) or an
	// RFC 3339 time (changed at or after it); "" is all current tags.
	Since string
	// RequireAccepted holds back every tag whose pull verdict is not accepted.
	RequireAccepted bool
}

// ErrBadSelector is wrapped by Build for selectors it cannot read.
var ErrBadSelector = errors.New("bad selector")

// since is a resolved --since.
type since struct {
	run int64
	at  time.Time
}

func (s *since) admits(run int64, at time.Time) bool {
	if s == nil {
		return true
	}
	if run > 0 && s.run > 0 {
		return run >= s.run
	}
	return !at.Before(s.at)
}

func resolveSince(ctx context.Context, facts Facts, v string) (*since, error) {
	if v == "" {
		return nil, nil
	}
	if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
		at, err := facts.RunStarted(ctx, id)
		if err != nil {
			if errors.Is(err, catalog.ErrNotFound) {
				return nil, fmt.Errorf("%w: --since %s: no import run %d in the catalog", ErrBadSelector, v, id)
			}
			return nil, err
		}
		return &since{run: id, at: at}, nil
	}
	at, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("%w: --since %q: want an import run id or an RFC 3339 time (2026-01-02T15:04:05Z)", ErrBadSelector, v)
	}
	return &since{at: at}, nil
}

// Build makes a plan from the catalog's facts alone.
func Build(ctx context.Context, facts Facts, o Options) (*Plan, error) {
	match, err := catalog.MatchRepositories(o.Repository)
	if err != nil {
		return nil, fmt.Errorf("%w: --repository: %v", ErrBadSelector, err)
	}
	cut, err := resolveSince(ctx, facts, o.Since)
	if err != nil {
		return nil, err
	}
	tags, err := facts.MirrorSourceTags(ctx)
	if err != nil {
		return nil, err
	}
	tagged := map[string][]string{} // repository@digest -> its current tags
	for _, t := range tags {
		tagged[t.Repository+"@"+t.Image] = append(tagged[t.Repository+"@"+t.Image], t.Tag)
	}
	p := &Plan{APIVersion: PlanAPIVersion, Kind: PlanKind, Destination: o.Destination.Spec,
		Selectors: Selectors{Repository: o.Repository, Since: o.Since, RequireAccepted: o.RequireAccepted},
		Copies:    []Copy{}, HeldBack: []Held{}, Deletions: []Deletion{}}
	for _, t := range tags {
		if !match(t.Repository) || !cut.admits(t.ChangedRun, t.ChangedAt) {
			continue
		}
		dest, ok := o.Destination.Repository(t.Repository)
		if !ok {
			continue
		}
		verdict, reason := pullVerdict(t)
		if o.RequireAccepted && !t.PullAccepted() {
			p.HeldBack = append(p.HeldBack, Held{Source: t.Repository, Tag: t.Tag, Digest: t.Image, Verdict: verdict, Reason: reason})
			continue
		}
		p.Copies = append(p.Copies, Copy{Source: t.Repository, Tag: t.Tag, Digest: t.Image, MediaType: t.MediaType,
			Destination: dest, ChangedAt: t.ChangedAt, Verdict: verdict})
	}
	removed, err := facts.MirrorRemovedTags(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range removed {
		// A removal seen as a single 404 may be a registry's hiccup:
		// only a complete listing says the tag is gone.
		if !r.Complete || !match(r.Repository) || !cut.admits(r.RemovedRun, r.RemovedAt) {
			continue
		}
		dest, ok := o.Destination.Repository(r.Repository)
		if !ok {
			continue
		}
		p.Deletions = append(p.Deletions, Deletion{Source: r.Repository, Tag: r.Tag, Destination: dest, Digest: r.Previous,
			RemovedAt: r.RemovedAt, Reason: r.Reason, StillTagged: tagged[r.Repository+"@"+r.Previous]})
	}
	return p, nil
}

// pullVerdict is the one place a plan reads a tag's verdict.
func pullVerdict(t catalog.MirrorSourceTag) (verdict catalog.Verdict, reason string) {
	return t.PullVerdict()
}
