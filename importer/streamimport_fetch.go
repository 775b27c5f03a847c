package importer

import (
	"context"
	"fmt"
	"sync"

	imagev1 "github.com/openshift/api/image/v1"
	"go.podman.io/image/v5/docker/reference"
)

// fetchKey is one manifest to fetch for image stream imports. Documents
// asking for the same thing share one fetch, as OpenShift's importer caches
// images per request.
type fetchKey struct {
	insecure  bool
	repo      string // normalized repository
	spelled   string // the repository as from.name wrote it
	tag, dgst string // one of them; both for repo:tag@digest
	mode      imagev1.ImportModeType
	arch, os  string // Legacy: the platform to pick from a list
}

func (k fetchKey) target() (target, error) {
	named, err := parseReference(k.repo)
	if err != nil {
		return target{}, err
	}
	return target{repo: reference.TrimNamed(named), tag: k.tag, dgst: k.dgst, input: k.String(), spelled: k.spelled}, nil
}

// String is the reference as OpenShift names it in messages: repo:tag or repo@digest.
func (k fetchKey) String() string {
	if k.dgst != "" {
		return k.repo + "@" + k.dgst
	}
	return k.repo + ":" + k.tag
}

// fetched is what one fetchKey brought back.
type fetched struct {
	err error
	// top is the image the tag or digest resolves to: the list itself
	// (PreserveOriginal) or the child chosen from it (Legacy).
	top string
	// children are a PreserveOriginal list's images, in list order.
	children []string
	// pending are the images to store, children before their list.
	pending []*pendingImage
	// images by name, normalized or read from the catalog, for statuses.
	images map[string]*imagev1.Image
	// registryTag is what the registry's tag points at, recorded in the
	// catalog's tags table like `regimport import` does; "" when the key
	// is a digest or Legacy picked a child (the tag names the list, which
	// Legacy does not store).
	registryTag string
	// legacyChild: Legacy picked top out of a list.
	legacyChild bool
}

// legacy is the platform whose child a Legacy import picks from a list;
// nil for PreserveOriginal, which imports the whole list.
func (k fetchKey) legacy() *Platform {
	if k.mode == imagev1.ImportModePreserveOriginal {
		return nil
	}
	return &Platform{Architecture: k.arch, OS: k.os}
}

// fetchAll fetches every key once, on the run's pool. Keys not started
// when ctx ends get ctx's error; those in flight get the grace period.
func (s *streamRun) fetchAll(ctx context.Context, keys []fetchKey) {
	var mu sync.Mutex
	set := func(k fetchKey, f *fetched) {
		mu.Lock()
		s.results[k] = f
		mu.Unlock()
	}
	p := s.imp.newPool(ctx)
	for _, k := range keys {
		mu.Lock()
		_, done := s.results[k]
		if !done {
			s.results[k] = nil
		}
		mu.Unlock()
		if done {
			continue
		}
		p.Go(func(work context.Context) { set(k, s.fetch(work, k)) }, func(err error) { set(k, &fetched{err: err}) })
	}
	p.Wait()
}

func (s *streamRun) fetch(ctx context.Context, k fetchKey) *fetched {
	f := &fetched{images: map[string]*imagev1.Image{}}
	t, err := k.target()
	if err != nil {
		f.err = err
		return f
	}
	res := &Result{Reference: t.String()}
	pending, top, err := s.fetcherFor(k.insecure).fetchTarget(ctx, t, res, k.legacy())
	if err != nil {
		f.err = err
		return f
	}
	f.top, f.pending = top.String(), pending
	// Legacy picked top out of the list the reference resolved to.
	f.legacyChild = f.top != res.Image
	if k.legacy() == nil {
		for _, p := range pending[:len(pending)-1] {
			f.children = append(f.children, p.name)
		}
	}
	if k.tag != "" && !f.legacyChild {
		f.registryTag = f.top
	}
	for _, p := range f.pending {
		if p.rec != nil {
			f.images[p.name] = p.rec.Image
			continue
		}
		img, err := s.imp.cat.GetImage(ctx, p.name)
		if err != nil {
			f.err = fmt.Errorf("read %s from the catalog: %w", p.name, err)
			return f
		}
		f.images[p.name] = img
	}
	return f
}
