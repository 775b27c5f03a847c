package streamimport

import (
	"context"
	"fmt"
	"github.com/regimport/regimport/importer"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// summarize gathers failures and counts from the documents' statuses.
func (s *streamRun) summarize(sum *Summary) {
	for v, n := range s.session.Verdicts() {
		sum.Verdicts[v] += n
	}
	// (repository, image) pairs whose signatures could not be fetched
	sum.Failures = append(sum.Failures, s.session.Failures()...)
	sum.ImagesCreated, sum.StreamsChanged, sum.TagsRemoved = s.imagesCreated, s.streamsChanged, s.removedTags
	for _, err := range s.imageErrs {
		sum.Failures = append(sum.Failures, importer.Failure{Reference: "catalog", Reason: err.Error(), Code: metav1.StatusReasonInternalError})
	}
	for _, d := range s.docs {
		isi := d.isi
		for i, st := range isi.Status.Images {
			if st.Status.Status != metav1.StatusSuccess {
				sum.Failures = append(sum.Failures, statusFailure(fmt.Sprintf("%s spec.images[%d] %s", d.name(), i, isi.Spec.Images[i].From.Name), st.Status))
			}
		}
		if d.repo != nil && d.repo.goneDoubt != "" {
			sum.Failures = append(sum.Failures, importer.Failure{Reference: fmt.Sprintf("%s spec.repository %s", d.name(), d.repo.from), Reason: d.repo.goneDoubt})
		}
		if rs := isi.Status.Repository; rs != nil {
			from := isi.Spec.Repository.From.Name
			if len(rs.Images) == 0 && rs.Status.Status != metav1.StatusSuccess {
				sum.Failures = append(sum.Failures, statusFailure(fmt.Sprintf("%s spec.repository %s", d.name(), from), rs.Status))
			}
			for _, st := range rs.Images {
				if st.Status.Status != metav1.StatusSuccess {
					sum.Failures = append(sum.Failures, statusFailure(fmt.Sprintf("%s spec.repository %s:%s", d.name(), from, st.Tag), st.Status))
				}
			}
		}
		switch {
		case d.streamErr != nil:
			sum.Failures = append(sum.Failures, importer.Failure{Reference: d.name(), Reason: "store image stream: " + d.streamErr.Error(), Code: metav1.StatusReasonInternalError})
		case isi.Spec.Import && !d.written && !sum.Interrupted:
			sum.Failures = append(sum.Failures, importer.Failure{Reference: d.name(), Reason: "image stream not stored", Code: metav1.StatusReasonInternalError})
		case isi.Spec.Import && !d.written:
			sum.Failures = append(sum.Failures, importer.Failure{Reference: d.name(), Reason: "interrupted: nothing of this document was stored", Code: metav1.StatusReasonInternalError})
		}
	}
}

func statusFailure(ref string, st metav1.Status) importer.Failure {
	return importer.Failure{Reference: ref, Reason: st.Message, Code: st.Reason}
}

// finishRun records the run: one imported or unchanged count per image
// of the documents that were stored, and the failures.
func (s *streamRun) finishRun(ctx context.Context, sum Summary, werr error) error {
	var counts catalog.RunCounts
	for _, d := range s.docs {
		if !d.written {
			continue
		}
		for _, k := range s.docKeys(d) {
			f := s.results[k]
			if f == nil || f.err != nil {
				continue
			}
			if anyNew(f) {
				counts.Imported++
			} else {
				counts.Unchanged++
			}
		}
	}
	counts.Failed = len(sum.Failures)
	if err := s.session.Record(ctx, sum.Interrupted, werr, counts, sum.Failures); err != nil {
		return fmt.Errorf("record run %d: %w", sum.RunID, err)
	}
	return nil
}

func anyNew(f *fetched) bool {
	for _, p := range f.pending {
		if p.Record != nil {
			return true
		}
	}
	return false
}

// Failed reports whether a document's status holds a failure.
func Failed(isi *imagev1.ImageStreamImport) bool {
	for _, st := range isi.Status.Images {
		if st.Status.Status != metav1.StatusSuccess {
			return true
		}
	}
	rs := isi.Status.Repository
	return rs != nil && rs.Status.Status != metav1.StatusSuccess
}
