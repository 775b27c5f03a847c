package streamimport

import (
	"errors"
	"fmt"

	"github.com/regimport/regimport/importer"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// summarize adds the documents' results and failures to sum, from their
// statuses, and the writes that failed.
func (s *streamRun) summarize(sum *importer.Summary) {
	for _, err := range s.writeErrs {
		sum.Failures = append(sum.Failures, catalog.Failure{Reference: "catalog", Reason: err.Error()})
	}
	for _, d := range s.docs {
		isi := d.isi
		for i, st := range isi.Status.Images {
			var k *fetchKey
			if i < len(d.images) && d.images[i].err == nil {
				k = &d.images[i].key
			}
			s.result(sum, d, fmt.Sprintf("%s spec.images[%d] %s", d.name(), i, isi.Spec.Images[i].From.Name), st, k)
		}
		if d.repo != nil && d.repo.goneDoubt != "" {
			sum.Failures = append(sum.Failures, catalog.Failure{Reference: fmt.Sprintf("%s spec.repository %s", d.name(), d.repo.from), Reason: d.repo.goneDoubt})
		}
		if rs := isi.Status.Repository; rs != nil {
			from := isi.Spec.Repository.From.Name
			if len(rs.Images) == 0 && rs.Status.Status != metav1.StatusSuccess {
				sum.Failures = append(sum.Failures, statusFailure(fmt.Sprintf("%s spec.repository %s", d.name(), from), rs.Status))
			}
			for i, st := range rs.Images {
				var k *fetchKey
				if d.repo != nil && i < len(d.repo.tags) {
					k = &d.repo.tags[i].key
				}
				s.result(sum, d, fmt.Sprintf("%s spec.repository %s:%s", d.name(), from, st.Tag), st, k)
			}
		}
		switch {
		case d.streamErr != nil:
			sum.Failures = append(sum.Failures, catalog.Failure{Reference: d.name(), Reason: "store image stream: " + d.streamErr.Error()})
		case isi.Spec.Import && !d.written && !sum.Interrupted:
			sum.Failures = append(sum.Failures, catalog.Failure{Reference: d.name(), Reason: "image stream not stored"})
		case isi.Spec.Import && !d.written:
			sum.Failures = append(sum.Failures, catalog.Failure{Reference: d.name(), Reason: "interrupted: nothing of this document was stored"})
		}
	}
}

// result adds one image or repository tag a document asked for: a
// failure when its status says so, else what storing it did (k is its
// fetch, when it had one).
func (s *streamRun) result(sum *importer.Summary, d *streamDoc, ref string, st imagev1.ImageImportStatus, k *fetchKey) {
	res := importer.Result{Reference: ref, Previewed: !d.isi.Spec.Import}
	if st.Image != nil {
		res.Image = st.Image.Name
	}
	if st.Status.Status != metav1.StatusSuccess {
		f := statusFailure(ref, st.Status)
		res.Err = errors.New(f.Reason)
		sum.Failures = append(sum.Failures, f)
	} else if k != nil && d.written {
		if f := s.results[*k]; f != nil && anyNew(f) {
			res.Outcome = catalog.Created
		}
	}
	sum.Results = append(sum.Results, res)
}

// statusFailure is the failure a status reports, with OpenShift's reason
// (NotFound, Unauthorized, ...) before its message.
func statusFailure(ref string, st metav1.Status) catalog.Failure {
	reason := st.Message
	if st.Reason != "" {
		reason = string(st.Reason) + ": " + st.Message
	}
	return catalog.Failure{Reference: ref, Reason: reason}
}

// counts are the run's counts: one imported or unchanged count per image
// of the documents that were stored, and the failures.
func (s *streamRun) counts(sum *importer.Summary) *catalog.RunCounts {
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
	return &counts
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
