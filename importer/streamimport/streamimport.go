package streamimport

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/imagestream"

	"github.com/google/uuid"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Options configure Import.
type Options struct {
	// Command is recorded with the run (never include credentials).
	Command string
	// Tags filters and caps repository imports where a document's
	// annotations do not say otherwise. The zero value imports every tag
	// (OpenShift caps at 50; a batch job mirroring a registry must not).
	Tags importer.TagFilter
	// InsecureRegistry fetches the images whose importPolicy.insecure is
	// true (plain HTTP and unverified TLS allowed); nil uses the
	// Importer's client for them too, which then fails on HTTP-only
	// registries with BadRequest, as OpenShift does.
	InsecureRegistry *registry.Client
	// DefaultImportMode is the importMode of images that name none
	// (default Legacy, the apiserver's default).
	DefaultImportMode imagev1.ImportModeType
	// Platform stands in for the apiserver's own platform, which Legacy
	// mode prefers when it picks one child of a list (OpenShift's
	// runtime.GOOS/GOARCH); the zero value is regimport's own.
	Platform catalog.Platform
}

// ErrInvalid marks documents that do not validate; nothing is imported then.
var ErrInvalid = errors.New("invalid ImageStreamImport")

// streamRun is the state of one Import call.
type streamRun struct {
	opts Options
	// session is the orchestration shared with importer.Run: run record,
	// writer (only when a document imports), pool, failures and verdicts.
	session *importer.Session
	// secure and insecure fetch the documents' images; insecure is
	// secure unless opts.InsecureRegistry is set.
	secure, insecure *importer.Fetcher
	docs             []*streamDoc
	results          map[fetchKey]*fetched
	now              time.Time
	// queued counts the keys handed to the pool, for the progress display.
	queued int

	mu sync.Mutex
	// writeErrs are the writes that failed, other than image streams'.
	writeErrs []error
}

// Import imports ImageStreamImport documents as OpenShift's
// apiserver does and fills each one's status in place: status.images lines
// up with spec.images, status.repository has the repository's tags, and
// status.import is the resulting image stream when spec.import is true.
// Documents are defaulted and validated first, all of them: if one is
// invalid nothing is fetched or written (the error wraps
// ErrInvalid). Previews (import: false) write nothing; imports store
// their images and then their image stream through one writer, in document
// order, so a stream's tag events always commit after their images. The
// error is for the call as a whole; failed images are statuses, and
// failures in the Summary; its Results are the images and repository tags
// the documents asked for.
func Import(ctx context.Context, imp *importer.Importer, isis []*imagev1.ImageStreamImport, opts Options) (importer.Summary, error) {
	var invalid []error
	for i, isi := range isis {
		Default(isi, opts.DefaultImportMode)
		if errs := Validate(isi); len(errs) > 0 {
			invalid = append(invalid, fmt.Errorf("document %d (%s/%s): %w", i+1, isi.Namespace, isi.Name, errs.ToAggregate()))
		}
	}
	if len(invalid) > 0 {
		return importer.Summary{}, fmt.Errorf("%w: %w", ErrInvalid, errors.Join(invalid...))
	}
	if opts.Platform.Architecture == "" {
		opts.Platform.Architecture = runtime.GOARCH
	}
	if opts.Platform.OS == "" {
		opts.Platform.OS = runtime.GOOS
	}
	imports := false
	for _, isi := range isis {
		imports = imports || isi.Spec.Import
	}
	// Previews (no document imports) record no run and write nothing.
	session, err := imp.Begin(ctx, opts.Command, imports)
	if err != nil {
		return importer.Summary{}, err
	}
	s := &streamRun{opts: opts, session: session, results: map[fetchKey]*fetched{}, now: session.Now()}
	// Insecure images go through their own client, explicitly, when one is given.
	s.secure = session.Fetcher(nil)
	s.insecure = s.secure
	if opts.InsecureRegistry != nil {
		s.insecure = session.Fetcher(opts.InsecureRegistry)
	}
	dbctx := context.WithoutCancel(ctx)

	for _, isi := range isis {
		// As the apiserver fills any object it creates (the document itself is never stored).
		isi.UID, isi.CreationTimestamp = types.UID(uuid.NewString()), metav1.NewTime(s.now.UTC().Truncate(time.Second))
		s.docs = append(s.docs, s.plan(ctx, isi))
	}
	s.listRepositories(ctx)
	s.fetchAll(ctx, s.keys())
	for _, d := range s.docs {
		s.fillStatus(d, func(f *fetched, name string) *imagev1.Image { return f.images[name] })
	}
	interrupted := ctx.Err() != nil
	if imports {
		s.write(dbctx)
	}
	return session.Finish(dbctx, interrupted, func(sum *importer.Summary, werr error) *catalog.RunCounts {
		s.settleStreams()
		for _, d := range s.docs {
			if d.written {
				s.fillStatus(d, s.storedImage(dbctx))
				d.isi.Status.Import = d.stream
			}
		}
		s.summarize(sum)
		return s.counts(sum)
	})
}

func (s *streamRun) fetcherFor(insecure bool) *importer.Fetcher {
	if insecure {
		return s.insecure
	}
	return s.secure
}

// write queues, document by document, the images each import fetched,
// the registry tags they came from, and then its image stream. The run's
// Finish waits for the writes.
func (s *streamRun) write(dbctx context.Context) {
	q := s.session.Queue()
	queued := map[string]bool{}
	tagged := map[fetchKey]bool{}
	for _, d := range s.docs {
		if !d.isi.Spec.Import || !s.complete(d) {
			continue
		}
		for _, k := range s.docKeys(d) {
			f := s.results[k]
			if f != nil && importer.TagGone(f.err) && !tagged[k] {
				tagged[k] = true
				q.RemoveTags(dbctx, k.repo, []string{k.tag}, catalog.ReasonNotFound, func(_ []catalog.RemovedTag, err error) { s.writeDone(err) })
			}
			if f == nil || f.err != nil {
				continue
			}
			for _, p := range f.pending {
				v := p.Verification
				if p.Record != nil && !queued[p.Name] {
					queued[p.Name] = true
					q.PutImage(dbctx, *p.Record, func(_ catalog.Outcome, err error) { s.writeDone(err) })
					continue
				}
				if p.Record != nil {
					v = p.Record.Verification // queued by another repository's import: this one's verdict
				}
				if v != nil {
					q.PutVerification(dbctx, p.Name, *v, func(_ catalog.Outcome, err error) { s.writeDone(err) })
				}
			}
			if f.registryTag != "" && !tagged[k] {
				tagged[k] = true
				rec := catalog.TagRecord{Repository: k.repo, Tag: k.tag, Image: f.registryTag, DockerImageReference: k.spelled + "@" + f.registryTag}
				q.PutTag(dbctx, rec, func(_ catalog.Outcome, err error) { s.writeDone(err) })
			}
		}
		if rp := d.repo; rp != nil && rp.err == nil && len(rp.gone) > 0 {
			q.RemoveTags(dbctx, rp.key.repo, rp.gone, rp.goneReason, func(_ []catalog.RemovedTag, err error) { s.writeDone(err) })
		}
		d.written = true
		updates := s.updates(d)
		ns, name := d.isi.Namespace, d.isi.Name
		apply := func(cur *imagev1.ImageStream) (*imagev1.ImageStream, error) {
			return imagestream.Apply(cur, ns, name, updates, s.now), nil
		}
		q.PutImageStream(dbctx, catalog.StreamUpdate{Namespace: ns, Name: name, Apply: apply}, func(is *imagev1.ImageStream, _ catalog.Outcome, err error) {
			d.stream, d.streamErr = is, err
		})
	}
}

// settleStreams, once the queue closed, keeps as written only the
// documents whose image stream was stored, and detaches the streams.
func (s *streamRun) settleStreams() {
	for _, d := range s.docs {
		if d.written && d.streamErr != nil {
			d.written = false
		}
		if d.stream != nil {
			d.stream = d.stream.DeepCopy()
			d.stream.TypeMeta = metav1.TypeMeta{} // nested in the ImageStreamImport
		}
	}
}

// writeDone keeps the error of a write other than an image stream's.
func (s *streamRun) writeDone(err error) {
	if err != nil {
		s.mu.Lock()
		s.writeErrs = append(s.writeErrs, err)
		s.mu.Unlock()
	}
}

// docKeys are the fetches a document used.
func (s *streamRun) docKeys(d *streamDoc) []fetchKey {
	var keys []fetchKey
	for _, it := range d.images {
		if it.err == nil {
			keys = append(keys, it.key)
		}
	}
	if d.repo != nil {
		for _, it := range d.repo.tags {
			keys = append(keys, it.key)
		}
	}
	return keys
}

// storedImage reads images back from the catalog, so that imported
// statuses carry what the catalog serves (uid, resourceVersion,
// creationTimestamp), as OpenShift returns the created images.
func (s *streamRun) storedImage(ctx context.Context) func(*fetched, string) *imagev1.Image {
	return func(f *fetched, name string) *imagev1.Image {
		if img, err := s.session.Catalog().GetImage(ctx, name); err == nil {
			return img
		}
		return f.images[name]
	}
}
