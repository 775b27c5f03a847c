package importer

import (
	"context"
	"errors"
	"fmt"
	"sync"

	digest "github.com/opencontainers/go-digest"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"go.podman.io/image/v5/docker/reference"
	"golang.org/x/sync/singleflight"
)

// fetcher is the core of an import: it fetches targets through one
// registry client and returns their images normalized (manifest, list
// children, configs, layer sizes, signatures), never fetching twice in one
// run what it already has. It writes nothing; the run it belongs to does.
// A run has one fetcher per registry client (streamimport adds one for
// insecure imports), so that what one client could not fetch is never
// shared with another.
type fetcher struct {
	*run
	reg *registry.Client

	reposMu sync.Mutex
	repos   map[string]*registry.Repository

	configs singleflight.Group
	// seen holds the images this run already queued or wrote, so duplicates
	// across tags and lists are fetched once (seen.go).
	seen *seenImages
	// manifests and configBlobs hold what this run fetched, by digest,
	// until the image is committed, so that another repository referencing
	// the same image neither fetches it again nor misses it for its
	// signature lookup. One digest may be in both (see cache).
	manifests   cache[*registry.Manifest]
	configBlobs cache[[]byte]
	children    singleflight.Group
	// pairs holds the (repository, image) pairs whose signatures this run
	// looked up (or decided not to), so each is looked up once per run.
	pairs sync.Map
	// listings holds, by repository name, what this run's complete tag
	// list of it says about artifact tags (listing.go).
	listings sync.Map
}

func newFetcher(r *run, reg *registry.Client) *fetcher {
	f := &fetcher{run: r, reg: reg, repos: map[string]*registry.Repository{}, seen: newSeenImages()}
	if r.imp.seenHash != nil {
		f.seen.hash = r.imp.seenHash
	}
	return f
}

func (r *fetcher) repository(name reference.Named) (*registry.Repository, error) {
	r.reposMu.Lock()
	defer r.reposMu.Unlock()
	if repo, ok := r.repos[name.Name()]; ok {
		return repo, nil
	}
	repo, err := r.reg.Repository(name)
	if err != nil {
		return nil, err
	}
	r.repos[name.Name()] = repo
	return repo, nil
}

// fetchTarget fetches one tag or digest and returns its images,
// normalized, with their signatures looked up, children before their list;
// top is the image the target stands for. A manifest list is imported
// whole when legacy is nil (PreserveOriginal); otherwise only the child
// OpenShift's Legacy mode picks for legacy's platform is, and it is top
// (res.Image still names the list the reference resolved to).
func (r *fetcher) fetchTarget(ctx context.Context, t target, res *Result, legacy *catalog.Platform) ([]*pendingImage, digest.Digest, error) {
	repo, err := r.repository(t.repo)
	if err != nil {
		return nil, "", err
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
		return nil, "", err
	}
	res.Image, res.MediaType = m.Digest.String(), m.MediaType
	kind, err := KindOf(m.MediaType)
	if err != nil {
		return nil, "", err
	}
	var pending []*pendingImage
	switch {
	case kind == ImageList && legacy != nil:
		entries, err := r.listEntries(m)
		if err != nil {
			return nil, "", err
		}
		if len(entries) == 0 {
			return nil, "", fmt.Errorf("no manifests in manifest list %s", m.Digest)
		}
		if entries = imageEntries(entries); len(entries) == 0 {
			return nil, "", fmt.Errorf("no image manifests in manifest list %s, only attestations", m.Digest)
		}
		if m, err = r.child(ctx, repo, listChildren(entries, legacy)[0]); err != nil {
			return nil, "", err
		}
		p, err := r.singleImage(ctx, repo, t, m)
		if err != nil {
			return nil, "", err
		}
		pending = append(pending, p)
	case kind == ImageList:
		children, err := r.fetchChildren(ctx, repo, t, m)
		if err != nil {
			return nil, "", err
		}
		res.Children = len(children)
		pending = append(pending, children...)
		p, err := r.listImage(ctx, t, m)
		if err != nil {
			return nil, "", err
		}
		if p.rec != nil {
			p.rec.IndexAttestations, err = r.listAttestations(ctx, repo, m)
			if err != nil {
				return nil, "", err
			}
		}
		pending = append(pending, p)
	default:
		p, err := r.singleImage(ctx, repo, t, m)
		if err != nil {
			return nil, "", err
		}
		pending = append(pending, p)
	}
	if err := r.lookUpPairs(ctx, repo, t, pending, m.Source); err != nil {
		return nil, "", err
	}
	return pending, m.Digest, nil
}

// listChildren is what is imported of a list: every entry (legacy nil), or
// the one OpenShift's Legacy mode picks (manifestFromManifestList): the
// entry for legacy's platform, else linux/amd64, else the first.
func listChildren(entries []imgspecv1.Descriptor, legacy *catalog.Platform) []digest.Digest {
	if legacy == nil {
		out := make([]digest.Digest, len(entries))
		for i, e := range entries {
			out[i] = e.Digest
		}
		return out
	}
	for _, want := range [][2]string{{legacy.Architecture, legacy.OS}, {"amd64", "linux"}} {
		for _, e := range entries {
			if e.Platform != nil && e.Platform.Architecture == want[0] && e.Platform.OS == want[1] {
				return []digest.Digest{e.Digest}
			}
		}
	}
	return []digest.Digest{entries[0].Digest}
}

// pendingImage is an image to write, or nil rec when the catalog has it already.
type pendingImage struct {
	name string
	rec  *catalog.ImageRecord
	// manifest is the image's manifest when this target fetched it.
	manifest *registry.Manifest
	// verification is, for an image already stored (rec nil), the verdict
	// of this target's repository, written after the images.
	verification *catalog.Verification
	// configDigest is the config fetched for rec, if any.
	configDigest string
	// verdictOnly: the image is not part of what the target imported, only
	// of the pairs it looked up (an unchanged tag); it is not counted.
	verdictOnly bool
}

func (r *fetcher) known(ctx context.Context, name string) (bool, error) {
	sure, confirm := r.seen.has(name)
	if sure {
		return true, nil
	}
	if r.emptyAtStart && !confirm {
		return false, nil // a catalog that started empty holds only what this run queued
	}
	ok, err := r.imp.cat.HasImage(ctx, name)
	if err != nil {
		return false, fmt.Errorf("catalog: %w", err)
	}
	return ok, nil
}

func (r *fetcher) singleImage(ctx context.Context, repo *registry.Repository, t target, m *registry.Manifest) (*pendingImage, error) {
	if ok, err := r.known(ctx, m.Digest.String()); err != nil || ok {
		return &pendingImage{name: m.Digest.String(), manifest: m}, err
	}
	pm, err := parseFetchedManifest(m)
	if err != nil {
		return nil, err
	}
	desc := pm.Config()
	var config []byte
	if desc.Digest != "" {
		if config, err = r.config(ctx, repo, m.Source, desc.Digest); err != nil {
			return nil, fmt.Errorf("config %s: %w", desc.Digest, err)
		}
	}
	n, err := pm.Normalize(t.source(), m.Digest, config)
	if err != nil {
		return nil, err
	}
	indexed := n.indexed
	if !n.sizeKnown {
		if err := FillLayerSizes(n.Image, func(d digest.Digest) (int64, error) { return repo.BlobSize(ctx, m.Source, d) }); err != nil {
			return nil, err
		}
		indexed = nil // the metadata was encoded again, with its Size: the catalog decodes it
	}
	r.warnNonconforming(t, m, n)
	rec := &catalog.ImageRecord{
		Image: n.Image, LookupReference: t.lookupReference(m.Digest.String()), ConfigMediaType: desc.MediaType, OS: n.Platform.OS, Variant: n.Platform.Variant,
		Indexed: indexed,
	}
	if config != nil && desc.Digest.Algorithm() == digest.SHA256 && n.Image.DockerImageConfig == string(config) {
		rec.ConfigDigest = desc.Digest.String() // config checked it: the catalog need not hash it again
	}
	markArtifact(rec, n.Image, ArtifactTypeOf(m.Bytes, desc.MediaType)) // artifacts.go
	return &pendingImage{name: m.Digest.String(), manifest: m, configDigest: desc.Digest.String(), rec: rec}, nil
}

func (r *fetcher) listImage(ctx context.Context, t target, m *registry.Manifest) (*pendingImage, error) {
	if ok, err := r.known(ctx, m.Digest.String()); err != nil || ok {
		return &pendingImage{name: m.Digest.String(), manifest: m}, err
	}
	n, err := normalizeList(t.source(), m.Bytes, m.MediaType, m.Digest, r.imp.now(), true)
	if err != nil {
		return nil, err
	}
	r.warnNonconforming(t, m, n)
	return &pendingImage{name: m.Digest.String(), manifest: m, rec: &catalog.ImageRecord{Image: n.Image, LookupReference: t.lookupReference(m.Digest.String()), Indexed: n.indexed}}, nil
}

// fetchChildren imports every entry of a list by digest (PreserveOriginal).
func (r *fetcher) fetchChildren(ctx context.Context, repo *registry.Repository, t target, list *registry.Manifest) ([]*pendingImage, error) {
	entries, err := r.listEntries(list)
	if err != nil {
		return nil, err
	}
	entries = imageEntries(entries) // attestation manifests are not images (buildkit.go)
	out := make([]*pendingImage, 0, len(entries))
	for _, e := range entries {
		if ok, err := r.known(ctx, e.Digest.String()); err != nil {
			return nil, err
		} else if ok {
			out = append(out, &pendingImage{name: e.Digest.String()})
			continue
		}
		child, err := r.child(ctx, repo, e.Digest)
		if err != nil {
			return nil, err
		}
		p, err := r.singleImage(ctx, repo, t, child)
		if err != nil {
			return nil, fmt.Errorf("list entry %s: %w", e.Digest, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// listEntries parses a list within the list-children limit: each entry
// costs a manifest and a config request, so a list of thousands would
// cost thousands of requests for one reference.
func (r *fetcher) listEntries(m *registry.Manifest) ([]imgspecv1.Descriptor, error) {
	entries, err := ParseList(m.Bytes)
	if err != nil {
		return nil, err
	}
	if limit := r.imp.limits.ListChildren; len(entries) > limit {
		return nil, fmt.Errorf("%w: manifest list %s has %d entries, over the list-children limit of %d", ErrLimit, m.Digest, len(entries), limit)
	}
	return entries, nil
}

// child fetches a list entry that must be an image manifest.
func (r *fetcher) child(ctx context.Context, repo *registry.Repository, d digest.Digest) (*registry.Manifest, error) {
	m, err := r.childManifest(ctx, repo, d.String())
	if err != nil {
		return nil, fmt.Errorf("list entry %s: %w", d, err)
	}
	if kind, err := KindOf(m.MediaType); err != nil || kind != SingleImage {
		return nil, fmt.Errorf("list entry %s: not an image manifest (%s)", d, m.MediaType)
	}
	return m, nil
}

// childManifest fetches a list entry once per run, whichever repository's
// list names it.
func (r *fetcher) childManifest(ctx context.Context, repo *registry.Repository, d string) (*registry.Manifest, error) {
	if m, ok := r.manifests.load(d); ok {
		return m, nil
	}
	v, err, _ := r.children.Do(d, func() (any, error) {
		m, err := repo.GetManifest(ctx, d)
		if err == nil {
			r.manifests.store(d, m)
		}
		return m, err
	})
	if err != nil {
		return nil, err
	}
	m, ok := v.(*registry.Manifest)
	if !ok {
		return nil, fmt.Errorf("manifest %s: internal error: cached as %T", d, v)
	}
	return m, nil
}

// config fetches a config blob once per digest and run, and never when the
// catalog already holds it.
func (r *fetcher) config(ctx context.Context, repo *registry.Repository, src *registry.Source, d digest.Digest) ([]byte, error) {
	if b, ok := r.configBlobs.load(d.String()); ok {
		return b, nil
	}
	v, err, _ := r.configs.Do(d.String(), func() (any, error) {
		if !r.emptyAtStart {
			if b, err := r.imp.cat.Config(ctx, d.String()); err == nil {
				return b, nil
			}
		}
		b, err := repo.GetBlob(ctx, src, d, registry.MaxManifestBytes)
		if err == nil {
			r.configBlobs.store(d.String(), b)
		}
		return b, err
	})
	if err != nil {
		return nil, err
	}
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("config %s: internal error: cached as %T", d, v)
	}
	return b, nil
}
