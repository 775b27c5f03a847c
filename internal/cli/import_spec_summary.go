package cli

import (
	"fmt"
	"io"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// specEntry is one image or repository tag an ImageStreamImport document
// asked for, with the outcome its status reports.
type specEntry struct {
	stream    string // namespace/name of the document
	reference string
	image     string // the image's name (digest); "" when it failed
	outcome   string // imported, previewed (import: false) or failed
}

// specEntries lists what the documents asked for, in document order:
// spec.images (their status has the same index), then the tags of
// spec.repository.
func specEntries(isis []*imagev1.ImageStreamImport) []specEntry {
	var out []specEntry
	for _, isi := range isis {
		add := func(ref string, st imagev1.ImageImportStatus) {
			e := specEntry{stream: isi.Namespace + "/" + isi.Name, reference: ref, outcome: "failed"}
			if st.Status.Status == metav1.StatusSuccess {
				e.outcome = "previewed"
				if isi.Spec.Import {
					e.outcome = "imported"
				}
				if st.Image != nil {
					e.image = st.Image.Name
				}
			}
			out = append(out, e)
		}
		for i, st := range isi.Status.Images {
			ref := ""
			if i < len(isi.Spec.Images) {
				ref = isi.Spec.Images[i].From.Name
			}
			add(ref, st)
		}
		if rs, spec := isi.Status.Repository, isi.Spec.Repository; rs != nil && spec != nil {
			for _, st := range rs.Images {
				add(spec.From.Name+":"+st.Tag, st)
			}
		}
	}
	return out
}

// printSpecEntries is -v for `import -f`: one line per image or tag that
// did not fail (failures are printed with their reason anyway). It goes to
// stderr, since stdout carries the documents.
func printSpecEntries(w io.Writer, entries []specEntry) {
	for _, e := range entries {
		if e.outcome == "failed" {
			continue
		}
		fmt.Fprintf(w, "%-9s %s %s -> %s\n", e.outcome, e.stream, e.reference, e.image)
	}
}
