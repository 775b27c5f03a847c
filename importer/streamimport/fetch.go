package streamimport

import (
	"context"
	"fmt"
	"sync"

	"github.com/regimport/regimport/importer"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
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

func (k fetchKey) target() importer.Target {
	return importer.Target{Repository: k.repo, Tag: k.tag, Digest: k.dgst, Spelled: k.spelled, Input: k.String()}
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
	pending []importer.FetchedImage
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
func (k fetchKey) legacy() *catalog.Platform {
	if k.mode == imagev1.ImportModePreserveOriginal {
		return nil
	}
	return &catalog.Platform{Architecture: k.arch, OS: k.os}
}

// fetchAll fetches every key once, on the run's pool. Keys not started
// when ctx ends get ctx's error; those in flight get the grace period.
func (s *streamRun) fetchAll(ctx context.Context, keys []fetchKey) {
	var mu sync.Mutex
	prog := s.session.Progress()
	set := func(k fetchKey, f *fetched) {
		mu.Lock()
		s.results[k] = f
		mu.Unlock()
		if prog != nil {
			prog.Done(importer.Result{Reference: k.String(), Image: f.top, Outcome: catalog.Created, Err: f.err})
		}
	}
	p := s.session.Pool(ctx)
	var todo []fetchKey
	for _, k := range keys {
		if _, done := s.results[k]; !done {
			s.results[k] = nil
			todo = append(todo, k)
		}
	}
	if s.queued += len(todo); prog != nil && len(todo) > 0 {
		prog.Start(s.queued)
	}
	for _, k := range todo {
		p.Go(func(work context.Context) { set(k, s.fetch(work, k)) }, func(err error) { set(k, &fetched{err: err}) })
	}
	p.Wait()
}

func (s *streamRun) fetch(ctx context.Context, k fetchKey) *fetched {
	f := &fetched{images: map[string]*imagev1.Image{}}
	got, err := s.fetcherFor(k.insecure).Fetch(ctx, k.target(), k.legacy())
	if err != nil {
		f.err = err
		return f
	}
	f.top, f.pending = got.Top, got.Images
	// Legacy picked top out of the list the reference resolved to.
	f.legacyChild = got.Top != got.Resolved
	if k.legacy() == nil {
		for _, p := range got.Images[:len(got.Images)-1] {
			f.children = append(f.children, p.Name)
		}
	}
	if k.tag != "" && !f.legacyChild {
		f.registryTag = f.top
	}
	for _, p := range f.pending {
		if p.Record != nil {
			f.images[p.Name] = p.Record.Image
			continue
		}
		img, err := s.session.Catalog().GetImage(ctx, p.Name)
		if err != nil {
			f.err = fmt.Errorf("read %s from the catalog: %w", p.Name, err)
			return f
		}
		f.images[p.Name] = img
	}
	return f
}
