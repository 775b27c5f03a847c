package streamimport

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/imagestream"

	imagev1 "github.com/openshift/api/image/v1"
	"go.podman.io/image/v5/docker/reference"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// streamDoc is one ImageStreamImport on its way through Import.
type streamDoc struct {
	isi    *imagev1.ImageStreamImport
	images []docItem // one per spec.images entry
	repo   *docRepo  // nil without spec.repository
	// stream is the image stream as stored after the import; streamErr
	// says why it could not be stored.
	stream    *imagev1.ImageStream
	streamErr error
	written   bool
}

// docItem is one image to import: a spec.images entry or a repository tag.
type docItem struct {
	key fetchKey
	tag string // the source tag ("" for a digest), as status.images[].tag
	err error  // the from.name cannot be fetched at all (Invalid)
}

// docRepo is a spec.repository import.
type docRepo struct {
	from       string
	key        fetchKey // repo, insecure, mode and platform of every tag
	filter     importer.TagFilter
	invalid    error // the from.name cannot be fetched at all (Invalid)
	err        error // listing the tags failed
	tags       []docItem
	additional []string
	// gone are current tags the complete listing no longer has (removed
	// when the document is imported), goneReason why; goneDoubt names the
	// tags an empty listing could not confirm gone.
	gone                  []string
	goneReason, goneDoubt string
}

func (d *streamDoc) name() string { return d.isi.Namespace + "/" + d.isi.Name }

// plan turns a document's spec into fetch keys. Legacy imports pick a
// list's child as OpenShift's manifestFromManifestList does: for a tag, the
// platform the image stream's spec tag (spec.images[].to, else the tag)
// names in importer.image.openshift.io/prefer-arch and prefer-os, each
// defaulting to the apiserver's own; for a digest or a repository import,
// the apiserver's own platform.
func (s *streamRun) plan(ctx context.Context, isi *imagev1.ImageStreamImport) *streamDoc {
	d := &streamDoc{isi: isi, images: make([]docItem, len(isi.Spec.Images))}
	existing, err := s.session.Catalog().GetImageStream(ctx, isi.Namespace, isi.Name)
	if err != nil {
		existing = nil // none yet (or unreadable: then no platform preferences)
	}
	for i, spec := range isi.Spec.Images {
		item := &d.images[i]
		from, err := imagestream.ParseFrom(spec.From.Name)
		if err != nil {
			item.err = err
			continue
		}
		named, err := from.Normalized()
		if err != nil {
			item.err = err
			continue
		}
		k := fetchKey{insecure: spec.ImportPolicy.Insecure, repo: named.Name(), spelled: from.Named.Name(), mode: spec.ImportPolicy.ImportMode}
		if from.ID != "" {
			k.dgst = from.ID
		} else {
			k.tag = from.Tag
			if k.tag == "" {
				k.tag = "latest"
			}
			item.tag = k.tag
		}
		if k.mode != imagev1.ImportModePreserveOriginal {
			k.arch, k.os = s.opts.Platform.Architecture, s.opts.Platform.OS
			if from.ID == "" {
				toName := k.tag
				if spec.To != nil {
					toName = spec.To.Name
				}
				k.arch, k.os = preferredPlatform(existing, toName, s.opts.Platform)
			}
		}
		item.key = k
	}
	if spec := isi.Spec.Repository; spec != nil {
		d.repo = &docRepo{from: spec.From.Name}
		d.repo.filter, _ = importer.TagFilterFromAnnotations(s.opts.Tags, isi.Annotations) // validated before
		from, err := imagestream.ParseFrom(spec.From.Name)
		var named reference.Named
		if err == nil {
			named, err = from.Normalized()
		}
		if err != nil {
			d.repo.invalid = err
		} else {
			d.repo.key = fetchKey{insecure: spec.ImportPolicy.Insecure, repo: named.Name(), spelled: from.Named.Name(), mode: spec.ImportPolicy.ImportMode}
			if d.repo.key.mode != imagev1.ImportModePreserveOriginal {
				d.repo.key.arch, d.repo.key.os = s.opts.Platform.Architecture, s.opts.Platform.OS
			}
		}
	}
	return d
}

// preferredPlatform reads the prefer-arch and prefer-os annotations of the
// stream's spec tag to; each one missing is host's.
func preferredPlatform(existing *imagev1.ImageStream, to string, host catalog.Platform) (arch, os string) {
	arch, os = host.Architecture, host.OS
	if existing == nil || to == "" {
		return arch, os
	}
	if t := imagestream.SpecTag(existing, to); t != nil {
		if a := t.Annotations[imagev1.ImporterPreferArchAnnotation]; a != "" {
			arch = a
		}
		if o := t.Annotations[imagev1.ImporterPreferOSAnnotation]; o != "" {
			os = o
		}
	}
	return arch, os
}

// listRepositories lists, filters and caps the tags of every repository
// import, in parallel on the session's pool. Listing is not granted the
// grace period: a listing cut by an interrupt leaves its document unwritten.
func (s *streamRun) listRepositories(ctx context.Context) {
	p := s.session.Pool(ctx)
	for _, d := range s.docs {
		if d.repo == nil || d.repo.invalid != nil {
			continue
		}
		p.Go(func(context.Context) { d.repo.err = s.listRepository(ctx, d) }, func(err error) { d.repo.err = err })
	}
	p.Wait()
}

func (s *streamRun) listRepository(ctx context.Context, d *streamDoc) error {
	rp := d.repo
	fetch := s.fetcherFor(rp.key.insecure)
	all, err := fetch.Tags(ctx, rp.key.repo)
	if err != nil {
		return err
	}
	if rp.gone, rp.goneReason, rp.goneDoubt, err = fetch.GoneTags(ctx, rp.key.repo, all, rp.filter); err != nil {
		return fmt.Errorf("compare with the catalog: %w", err)
	}
	seen := map[string]bool{}
	var tags []string
	for _, tag := range all {
		if tag == "" {
			tag = "latest" // as OpenShift reads Docker Hub's empty tags
		}
		if !seen[tag] {
			seen[tag] = true
			tags = append(tags, tag)
		}
	}
	sort.Strings(tags)
	tags = s.session.ImageTags(tags) // signatures and attestations of other tags are not images
	tags = rp.filter.Match(tags)
	if tags, err = fetch.Newest(ctx, rp.key.repo, tags, rp.filter.Newest, rp.key.legacy()); err != nil {
		return err
	}
	kept, additional := rp.filter.Cap(tags)
	// Tags past the cap that spec.images of the same document imports
	// anyway are reported with the repository's, as OpenShift does.
	for _, tag := range additional {
		k := rp.key
		k.tag = tag
		if d.importsKey(k) {
			kept = append(kept, tag)
		} else {
			rp.additional = append(rp.additional, tag)
		}
	}
	for _, tag := range kept {
		k := rp.key
		k.tag = tag
		rp.tags = append(rp.tags, docItem{key: k, tag: tag})
	}
	return nil
}

func (d *streamDoc) importsKey(k fetchKey) bool {
	for _, it := range d.images {
		if it.err == nil && it.key == k {
			return true
		}
	}
	return false
}

// keys lists every fetch the documents need.
func (s *streamRun) keys() []fetchKey {
	var keys []fetchKey
	for _, d := range s.docs {
		keys = append(keys, s.docKeys(d)...)
	}
	return keys
}

// fillStatus sets the document's status from the fetches, with image
// looking images up by name (as fetched, or as stored).
func (s *streamRun) fillStatus(d *streamDoc, image func(*fetched, string) *imagev1.Image) {
	isi := d.isi
	isi.Status = imagev1.ImageStreamImportStatus{Images: make([]imagev1.ImageImportStatus, len(isi.Spec.Images))}
	for i, it := range d.images {
		st := &isi.Status.Images[i]
		spec := isi.Spec.Images[i]
		if it.err != nil {
			st.Status = invalidFrom(spec.From.Name, it.err)
			continue
		}
		st.Tag = it.tag
		f := s.results[it.key]
		if f.err != nil {
			st.Status = importStatus(f.err, it.key.String(), spec.From.Name, it.key.repo)
			continue
		}
		created := isi.Spec.Import && spec.To != nil
		f.fill(st, it.key, rawContentOf(spec.IncludeManifest, created), func(n string) *imagev1.Image { return image(f, n) })
	}
	rp := d.repo
	if rp == nil {
		return
	}
	rs := &imagev1.RepositoryImportStatus{}
	isi.Status.Repository = rs
	switch {
	case rp.invalid != nil:
		rs.Status = invalidFrom(rp.from, rp.invalid)
		return
	case rp.err != nil:
		rs.Status = importStatus(rp.err, rp.key.repo, rp.from, rp.key.repo)
		return
	}
	rs.AdditionalTags = rp.additional
	failures := 0
	rs.Images = make([]imagev1.ImageImportStatus, len(rp.tags))
	for i, it := range rp.tags {
		st := &rs.Images[i]
		st.Tag = it.tag
		f := s.results[it.key]
		if f.err != nil {
			failures++
			st.Status = importStatus(f.err, it.key.String(), rp.from+":"+it.tag, it.key.repo)
			continue
		}
		f.fill(st, it.key, rawContentOf(isi.Spec.Repository.IncludeManifest, isi.Spec.Import), func(n string) *imagev1.Image { return image(f, n) })
	}
	rs.Status = repositoryStatus(failures)
}

// updates lists what the document does to its image stream, in
// OpenShift's order: the repository's tags, then spec.images with a to.
func (s *streamRun) updates(d *streamDoc) []imagestream.TagUpdate {
	var out []imagestream.TagUpdate
	isi := d.isi
	add := func(u imagestream.TagUpdate, st imagev1.ImageImportStatus, f *fetched, repo string) {
		if st.Status.Status != metav1.StatusSuccess || st.Image == nil {
			status := st.Status
			u.Failure = &status
		} else {
			u.Image, u.PullSpec = f.top, repo+"@"+f.top
		}
		out = append(out, u)
	}
	if rp := d.repo; rp != nil && rp.invalid == nil && rp.err == nil {
		spec := isi.Spec.Repository
		for i, it := range rp.tags {
			add(imagestream.TagUpdate{Tag: it.tag, From: rp.from + ":" + it.tag, Policy: spec.ImportPolicy, RefPolicy: spec.ReferencePolicy},
				isi.Status.Repository.Images[i], s.results[it.key], it.key.spelled)
		}
	}
	for i, spec := range isi.Spec.Images {
		if spec.To == nil {
			continue // by digest, or a bare repository: imported, not tagged
		}
		u := imagestream.TagUpdate{Tag: spec.To.Name, From: spec.From.Name, Policy: spec.ImportPolicy, RefPolicy: spec.ReferencePolicy, SpecImage: true}
		it := d.images[i]
		add(u, isi.Status.Images[i], s.results[it.key], it.key.spelled)
	}
	return out
}

// complete reports whether nothing of the document was cut by an
// interrupt; only complete documents are written.
func (s *streamRun) complete(d *streamDoc) bool {
	cut := func(err error) bool {
		return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
	}
	items := append([]docItem(nil), d.images...)
	if d.repo != nil {
		if cut(d.repo.err) {
			return false
		}
		items = append(items, d.repo.tags...)
	}
	for _, it := range items {
		if f := s.results[it.key]; it.err == nil && (f == nil || cut(f.err)) {
			return false
		}
	}
	return true
}
