package report

import (
	"context"
	"errors"
	"iter"
	"math/bits"
	"sort"
	"time"

	"github.com/regimport/regimport/report/query"
)

// Top-N sizes of the bounded lists.
const (
	largestImages = 20
	sharedLayers  = 50
)

// renderer holds the small facts of one report and streams the long lists
// from the snapshot while a format writes them.
type renderer struct {
	snap     *query.ReportSnapshot
	opts     Options
	doc      Document // every field but the streamed lists
	from, to query.ReportCut
	perRepo  []query.ReportSignatureCounts
	// unknownEvidence counts signatures stored before the catalog
	// recorded evidence (evidence.go).
	unknownEvidence int
}

// gather reads everything but the streamed lists.
func (r *renderer) gather(ctx context.Context) error {
	s, now := r.snap, r.opts.Now().UTC()
	d := &r.doc
	d.APIVersion, d.Kind, d.GeneratedAt = APIVersion, "CatalogReport", now
	tot, err := s.Totals(ctx)
	if err != nil {
		return err
	}
	d.Catalog = Catalog{File: r.opts.File, SchemaVersion: tot.SchemaVersion, ResourceVersion: tot.ResourceVersion}
	runs, err := s.RunActivity(ctx)
	if err != nil {
		return err
	}
	var fromCut, toCut Cut
	if r.from, r.to, fromCut, toCut, err = resolve(r.opts.Range, runs, now); err != nil {
		return err
	}
	d.Filter = Filter{Repository: r.opts.Repository, From: fromCut, To: toCut}
	if d.Runs, err = r.runs(ctx, runs); err != nil {
		return err
	}
	sum := &d.Summary
	sum.Repositories, sum.Tags, sum.Images, sum.ManifestLists = tot.Repositories, tot.Tags, tot.Images, tot.ManifestLists
	sum.UniqueLayers, sum.UniqueLayerBytes, sum.Runs = tot.UniqueLayers, tot.UniqueLayerBytes, tot.Runs
	if n := len(d.Runs); n > 0 {
		last := d.Runs[n-1]
		sum.LastRun = &last
	}
	total, perRepo, err := s.SignatureCounts(ctx)
	if err != nil {
		return err
	}
	sum.Signatures, r.perRepo = total, perRepo
	if err := r.repositories(ctx); err != nil {
		return err
	}
	signers, err := s.Signers(ctx)
	if err != nil {
		return err
	}
	d.Signers = nonNil(signers)
	for i := range d.Signers {
		v := &d.Signers[i]
		v.Types, v.Repositories = nonNil(v.Types), nonNil(v.Repositories)
	}
	sum.Signers = len(d.Signers)
	if d.SignatureResults, err = reasons(s.SignatureResults(ctx)); err != nil {
		return err
	}
	if d.RejectionReasons, err = reasons(s.RejectionReasons(ctx)); err != nil {
		return err
	}
	if err := r.storage(ctx, now); err != nil {
		return err
	}
	ch := &sum.Changes
	var removed int
	if ch.TagsAdded, ch.TagsMoved, removed, err = s.TagChangeCounts(ctx, r.from, r.to); err != nil {
		return err
	}
	ch.TagsRemoved = &removed
	d.RepositoryChanges = []RepositoryChange{}
	if err := s.RepositoryChanges(ctx, r.from, r.to, func(c RepositoryChange) error {
		d.RepositoryChanges = append(d.RepositoryChanges, c)
		return nil
	}); err != nil {
		return err
	}
	ch.RepositoriesRemoved = len(d.RepositoryChanges)
	unreferenced, err := s.UnreferencedImages(ctx)
	if err != nil {
		return err
	}
	d.UnreferencedImages = nonNil(unreferenced)
	sum.UnreferencedImages = len(d.UnreferencedImages)
	if ch.ImagesAdded, ch.VerificationChanged, err = s.ImageChangeCounts(ctx, r.from, r.to); err != nil {
		return err
	}
	if err := s.Failures(ctx, r.from, r.to, func(query.ReportFailure) error { ch.Failures++; return nil }); err != nil {
		return err
	}
	if err := r.attestations(ctx); err != nil {
		return err
	}
	if err := r.mirrors(ctx); err != nil {
		return err
	}
	if p := r.opts.PolicyPreview; p != nil {
		if d.PolicyPreview, err = p.only(r.opts.Repository); err != nil {
			return err
		}
	}
	if err := r.evidence(ctx); err != nil {
		return err
	}
	d.Limitations = limitations(r)
	return nil
}

func reasons(in []ReasonCount, err error) ([]ReasonCount, error) {
	return nonNil(in), err
}

// runs converts the run list and attributes verification changes to runs.
func (r *renderer) runs(ctx context.Context, runs []query.ReportRun) ([]Run, error) {
	out := make([]Run, len(runs))
	for i, cr := range runs {
		out[i] = Run{ReportRun: cr, InRange: r.inRange(cr)}
	}
	err := r.snap.VerificationChangeTimes(ctx, func(at time.Time) error {
		// The last run that started at or before the change.
		i := sort.Search(len(out), func(i int) bool { return out[i].StartedAt.After(at) }) - 1
		if i >= 0 {
			out[i].VerificationChanges++
		}
		return nil
	})
	return out, err
}

func (r *renderer) inRange(run query.ReportRun) bool {
	after := func(c query.ReportCut) bool {
		if c.RunID > 0 {
			return run.ID > c.RunID
		}
		return run.StartedAt.After(c.Time)
	}
	return after(r.from) && !after(r.to)
}

// repositories joins the per-repository signature counts and storage.
func (r *renderer) repositories(ctx context.Context) error {
	st, err := r.snap.RepositoryStorage(ctx)
	if err != nil {
		return err
	}
	sigs := map[string]SignatureCounts{}
	for _, c := range r.perRepo {
		sigs[c.Repository] = c
	}
	r.doc.Repositories = make([]Repository, 0, len(st))
	for _, s := range st {
		r.doc.Repositories = append(r.doc.Repositories, Repository{ReportRepositoryStorage: s, Signatures: sigs[s.Name]})
	}
	return nil
}

func (r *renderer) storage(ctx context.Context, now time.Time) error {
	s, st := r.snap, &r.doc.Storage
	large, err := s.LargestImages(ctx, largestImages)
	if err != nil {
		return err
	}
	st.LargestImages = nonNil(large)
	for i := range st.LargestImages {
		v := &st.LargestImages[i]
		v.Repositories, v.Tags = nonNil(v.Repositories), nonNil(v.Tags)
	}
	n, bytes, shared, err := s.SharedLayers(ctx, sharedLayers)
	if err != nil {
		return err
	}
	r.doc.Summary.SharedLayers, r.doc.Summary.SharedLayerBytes = n, bytes
	st.SharedLayers = nonNil(shared)
	var sizes [65]int
	ages := make([]int, len(ageBuckets))
	err = s.SizesAndAges(ctx, func(size int64, created *time.Time) error {
		sizes[bits.Len64(uint64(max(size, 0)))]++
		if created == nil || created.Year() < 1980 {
			st.ImagesWithoutCreated++
			return nil
		}
		days := int64(now.Sub(*created) / (24 * time.Hour))
		for i, b := range ageBuckets {
			if days < b.Max || b.Max == 0 {
				ages[i]++
				break
			}
		}
		return nil
	})
	st.SizeHistogram = sizeHistogram(sizes)
	st.AgeHistogram = make([]Bucket, len(ageBuckets))
	for i, b := range ageBuckets {
		b.Count = ages[i]
		st.AgeHistogram[i] = b
	}
	return err
}

// ageBuckets are ages in days.
var ageBuckets = []Bucket{
	{Label: "< 1 week", Min: 0, Max: 7}, {Label: "1–4 weeks", Min: 7, Max: 30},
	{Label: "1–3 months", Min: 30, Max: 91}, {Label: "3–6 months", Min: 91, Max: 182},
	{Label: "6–12 months", Min: 182, Max: 365}, {Label: "1–2 years", Min: 365, Max: 730},
	{Label: "2–3 years", Min: 730, Max: 1096}, {Label: "3–5 years", Min: 1096, Max: 1826}, {Label: "5+ years", Min: 1826},
}

// sizeHistogram turns power-of-two counts into buckets from the smallest
// to the largest non-empty one, merging pairs while there are more than 12.
func sizeHistogram(pow2 [65]int) []Bucket {
	lo, hi := -1, -1
	for i, n := range pow2 {
		if n > 0 {
			if lo < 0 {
				lo = i
			}
			hi = i
		}
	}
	out := []Bucket{}
	if lo < 0 {
		return out
	}
	width := 1 // powers of two per bucket
	for (hi-lo)/width+1 > 12 {
		width *= 2
	}
	lo -= lo % width
	bound := func(i int) int64 { // smallest value with bits.Len64 == i
		if i == 0 {
			return 0
		}
		if i > 63 {
			return 0 // no upper bound
		}
		return 1 << (i - 1)
	}
	for k := lo; k <= hi; k += width {
		b := Bucket{Min: bound(k), Max: bound(k + width)}
		for i := k; i < k+width && i < len(pow2); i++ {
			b.Count += pow2[i]
		}
		b.Label = humanBytes(b.Min) + "–" + humanBytes(b.Max)
		out = append(out, b)
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// errStop ends a stream early when its consumer stops.
var errStop = errors.New("stop")

// stream adapts a callback query to an iterator for templates, passing
// each row through fix (nil: as it is); the first error is kept in *errp.
func stream[T any](ctx context.Context, run func(context.Context, func(T) error) error, fix func(*T), errp *error) iter.Seq[T] {
	return func(yield func(T) bool) {
		err := run(ctx, func(c T) error {
			if fix != nil {
				fix(&c)
			}
			if !yield(c) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) && *errp == nil {
			*errp = err
		}
	}
}

// The streamed lists, with [] for empty lists in their rows.

func (r *renderer) inventory(ctx context.Context, errp *error) iter.Seq[InventoryRow] {
	return stream(ctx, r.snap.Inventory, func(v *InventoryRow) {
		v.Platforms, v.Signers, v.ParentLists = nonNil(v.Platforms), nonNil(v.Signers), nonNil(v.ParentLists)
	}, errp)
}

func (r *renderer) lineage(ctx context.Context, errp *error) iter.Seq[LineageRow] {
	return stream(ctx, r.snap.Lineage, nil, errp)
}

func (r *renderer) rejected(ctx context.Context, errp *error) iter.Seq[RejectedImage] {
	return stream(ctx, r.snap.Rejected, func(v *RejectedImage) {
		v.Tags, v.SignatureReasons = nonNil(v.Tags), nonNil(v.SignatureReasons)
	}, errp)
}

func (r *renderer) tagChanges(ctx context.Context, errp *error) iter.Seq[TagChange] {
	run := func(ctx context.Context, fn func(TagChange) error) error {
		return r.snap.TagChanges(ctx, r.from, r.to, fn)
	}
	return stream(ctx, run, nil, errp)
}

func (r *renderer) imageChanges(ctx context.Context, errp *error) iter.Seq[ImageChange] {
	run := func(ctx context.Context, fn func(ImageChange) error) error {
		return r.snap.ImageChanges(ctx, r.from, r.to, fn)
	}
	return stream(ctx, run, func(v *ImageChange) { v.Repositories = nonNil(v.Repositories) }, errp)
}

func (r *renderer) failures(ctx context.Context, errp *error) iter.Seq[Failure] {
	run := func(ctx context.Context, fn func(Failure) error) error {
		return r.snap.Failures(ctx, r.from, r.to, fn)
	}
	return stream(ctx, run, nil, errp)
}
