package importer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"golang.org/x/sync/errgroup"
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

// fetchAll fetches every key once, in parallel. Keys not started when ctx
// ends get ctx's error; those in flight get the importer's grace period.
func (s *streamRun) fetchAll(ctx context.Context, keys []fetchKey) {
	workCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(s.imp.grace, cancel) })
	defer stop()
	var mu sync.Mutex
	g := errgroup.Group{}
	g.SetLimit(s.imp.conc)
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
		g.Go(func() error {
			var f *fetched
			if err := ctx.Err(); err != nil {
				f = &fetched{err: err}
			} else {
				f = s.fetch(workCtx, k)
			}
			mu.Lock()
			s.results[k] = f
			mu.Unlock()
			return nil
		})
	}
	_ = g.Wait()
}

func (s *streamRun) fetch(ctx context.Context, k fetchKey) *fetched {
	r := s.runFor(k.insecure)
	f := &fetched{images: map[string]*imagev1.Image{}}
	t, err := k.target()
	if err != nil {
		f.err = err
		return f
	}
	if k.mode == imagev1.ImportModePreserveOriginal {
		pending, top, err := r.fetchTarget(ctx, t, &Result{Reference: t.String()})
		if err != nil {
			f.err = err
			return f
		}
		f.top, f.pending = top.String(), pending
		for _, p := range pending[:len(pending)-1] {
			f.children = append(f.children, p.name)
		}
	} else if f.err = s.fetchLegacy(ctx, r, k, t, f); f.err != nil {
		return f
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

// fetchLegacy imports a tag or digest as OpenShift's Legacy mode does: a
// list resolves to one child (the preferred platform, else linux/amd64,
// else the first) and only that child is imported.
func (s *streamRun) fetchLegacy(ctx context.Context, r *run, k fetchKey, t target, f *fetched) error {
	repo, err := r.repository(t.repo)
	if err != nil {
		return err
	}
	ref := t.tag
	if t.dgst != "" {
		ref = t.dgst
	}
	m, err := repo.GetManifest(ctx, ref)
	if err != nil {
		if t.dgst == "" && errors.Is(err, registry.ErrNotFound) {
			err = &errTagNotFound{err} // the tag itself is gone
		}
		return err
	}
	kind, err := KindOf(m.MediaType)
	if err != nil {
		return err
	}
	if kind == ImageList {
		entries, err := ParseList(m.Bytes)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return fmt.Errorf("no manifests in manifest list %s", m.Digest)
		}
		pick := choosePlatform(entries, k.arch, k.os)
		if m, err = repo.GetManifest(ctx, pick.String()); err != nil {
			return fmt.Errorf("list entry %s: %w", pick, err)
		}
		if kind, err := KindOf(m.MediaType); err != nil || kind != SingleImage {
			return fmt.Errorf("list entry %s: not an image manifest (%s)", pick, m.MediaType)
		}
		f.legacyChild = true
	}
	p, err := r.singleImage(ctx, repo, t, m)
	if err != nil {
		return err
	}
	if err := r.lookUpPairs(ctx, repo, t, []*pendingImage{p}, m.Source); err != nil {
		return err
	}
	f.top, f.pending = m.Digest.String(), []*pendingImage{p}
	return nil
}

// choosePlatform is OpenShift's Legacy choice (manifestFromManifestList):
// the entry for arch and os, else linux/amd64, else the first.
func choosePlatform(entries []imgspecv1.Descriptor, arch, os string) digest.Digest {
	for _, want := range [][2]string{{arch, os}, {"amd64", "linux"}} {
		for _, e := range entries {
			if e.Platform != nil && e.Platform.Architecture == want[0] && e.Platform.OS == want[1] {
				return e.Digest
			}
		}
	}
	return entries[0].Digest
}

// newest keeps the n tags of a repository whose images were created last;
// a tag whose creation time cannot be read counts as oldest. See
// TagFilter.Newest for the cost.
func (imp *Importer) newest(ctx context.Context, reg *registry.Client, name reference.Named, tags []string, n int, mode imagev1.ImportModeType, arch, os string) ([]string, error) {
	if n <= 0 || len(tags) <= n {
		return tags, nil
	}
	repo, err := reg.Repository(name)
	if err != nil {
		return nil, err
	}
	created := make([]time.Time, len(tags))
	g := errgroup.Group{}
	g.SetLimit(imp.conc)
	for i, tag := range tags {
		g.Go(func() error {
			t, err := imp.createdAt(ctx, repo, tag, mode, arch, os)
			if err != nil {
				imp.log.Warn("cannot tell when a tag's image was created; counting it as oldest", "repository", name.Name(), "tag", tag, "error", err)
			}
			created[i] = t
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	idx := make([]int, len(tags))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return created[idx[a]].After(created[idx[b]]) })
	kept := make([]string, 0, n)
	for _, i := range idx[:n] {
		kept = append(kept, tags[i])
	}
	return kept, nil
}

// createdAt reads when a tag's image was created: the config's created
// time, the newest child's for a list imported whole, the chosen child's
// in Legacy mode.
func (imp *Importer) createdAt(ctx context.Context, repo *registry.Repository, tag string, mode imagev1.ImportModeType, arch, os string) (time.Time, error) {
	m, err := repo.GetManifest(ctx, tag)
	if err != nil {
		return time.Time{}, err
	}
	kind, err := KindOf(m.MediaType)
	if err != nil || kind == SingleImage {
		if err != nil {
			return time.Time{}, err
		}
		return imp.configCreated(ctx, repo, m)
	}
	entries, err := ParseList(m.Bytes)
	if err != nil || len(entries) == 0 {
		return time.Time{}, fmt.Errorf("list %s: %v", m.Digest, err)
	}
	var children []digest.Digest
	if mode == imagev1.ImportModePreserveOriginal {
		for _, e := range entries {
			children = append(children, e.Digest)
		}
	} else {
		children = []digest.Digest{choosePlatform(entries, arch, os)}
	}
	var newest time.Time
	for _, d := range children {
		child, err := repo.GetManifest(ctx, d.String())
		if err != nil {
			return time.Time{}, err
		}
		t, err := imp.configCreated(ctx, repo, child)
		if err != nil {
			return time.Time{}, err
		}
		if t.After(newest) {
			newest = t
		}
	}
	return newest, nil
}

func (imp *Importer) configCreated(ctx context.Context, repo *registry.Repository, m *registry.Manifest) (time.Time, error) {
	if isSchema1(m.MediaType) {
		meta, _, _, err := fromSchema1(m.Bytes)
		return meta.Created.Time, err
	}
	desc, err := ConfigDescriptor(m.Bytes, m.MediaType)
	if err != nil {
		return time.Time{}, err
	}
	config, err := imp.cat.Config(ctx, desc.Digest.String())
	if err != nil {
		if config, err = repo.GetBlob(ctx, m.Source, desc.Digest, registry.MaxManifestBytes); err != nil {
			return time.Time{}, fmt.Errorf("config %s: %w", desc.Digest, err)
		}
	}
	var c struct {
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal(config, &c); err != nil {
		return time.Time{}, fmt.Errorf("config %s: %w", desc.Digest, err)
	}
	return c.Created, nil
}
