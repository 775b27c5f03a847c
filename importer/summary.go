package importer

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/registry"
	"github.com/regimport/regimport/signatures"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Result is what happened to one target (a tag or a digest, or with
// `import -f` one image or repository tag a document asked for).
type Result struct {
	Reference string // repository:tag or repository@digest
	Image     string // manifest digest, when known
	MediaType string
	// Outcome is what storing the target did: Created when a new image or
	// a new tag was stored, Updated when only its tag moved, Unchanged when
	// the catalog held it all. It says nothing when Err is set or the
	// target was Previewed.
	Outcome catalog.Outcome
	// Previewed: fetched for an ImageStreamImport preview (import: false),
	// nothing stored.
	Previewed bool
	// Children is the number of images of a manifest list.
	Children int
	// Err is why the target failed; its Failure is in the Summary.
	Err error
}

// State is the result in one word, as reports and metrics label it:
// imported, unchanged, previewed or failed.
func (r Result) State() string {
	switch {
	case r.Err != nil:
		return "failed"
	case r.Previewed:
		return "previewed"
	case r.Outcome == catalog.Unchanged:
		return "unchanged"
	}
	return "imported"
}

// Summary is the outcome of a run of either mode (Run, or
// streamimport.Import, whose documents carry their own outcome in their
// status).
type Summary struct {
	// RunID is the run recorded in the catalog; 0 when nothing was
	// recorded (ImageStreamImport previews write nothing at all).
	RunID int64
	// Shard is the part of a sharded import the run took (Request.Shard).
	Shard   catalog.Shard
	Results []Result
	// Failures lists every reference that failed, including those that
	// failed before any target existed (unparseable references, listing
	// errors), (repository, image) pairs whose signatures could not be
	// evaluated, and with `import -f` documents not stored.
	Failures []catalog.Failure
	// ImagesCreated and ImagesUnchanged count manifests (list children included).
	ImagesCreated, ImagesUnchanged int
	// TagsCreated, TagsMoved count tag records written.
	TagsCreated, TagsMoved int
	// TagsRemoved counts tags the registry no longer has, removed from the
	// current tags; RepositoriesRemoved counts repositories missing from a
	// complete /v2/_catalog.
	TagsRemoved, RepositoriesRemoved int
	// StreamsChanged counts image streams created or updated (`import -f`).
	StreamsChanged int
	// Interrupted is set when the context ended before every target ran.
	Interrupted bool
	// Verdicts counts new images by the signature policy's verdict.
	Verdicts map[signatures.Verdict]int
	// PullBlocked are the references whose pull verdict is rejected or
	// partial (pullverdicts.go): exit code 4.
	PullBlocked []PullBlock
	// VerifyTime is the time spent verifying signatures, summed over workers.
	VerifyTime time.Duration
	// Registries are the per-host request totals and RateLimit figures.
	Registries []registry.HostStats

	// dropped counts by State the results not kept (Options.DiscardResults).
	dropped map[string]int
}

// Counts of targets by outcome; failed is every Failure.
func (s *Summary) Counts() (imported, unchanged, failed int) {
	for _, r := range s.Results {
		switch r.State() {
		case "imported":
			imported++
		case "unchanged":
			unchanged++
		}
	}
	return imported + s.dropped["imported"], unchanged + s.dropped["unchanged"], len(s.Failures)
}

// States counts the results by State, with failed as in Counts.
func (s *Summary) States() map[string]int {
	out := map[string]int{"imported": 0, "unchanged": 0, "failed": len(s.Failures)}
	for _, r := range s.Results {
		if st := r.State(); st != "failed" {
			out[st]++
		}
	}
	for st, n := range s.dropped {
		if st != "failed" {
			out[st] += n
		}
	}
	return out
}

// reasonOf maps an import error to the Status reason OpenShift reports.
func reasonOf(err error) metav1.StatusReason {
	var he *registry.HTTPError
	switch {
	case errors.Is(err, ErrBadReference):
		return metav1.StatusReasonInvalid
	case errors.Is(err, registry.ErrNotFound):
		return metav1.StatusReasonNotFound
	case errors.Is(err, registry.ErrUnauthorized):
		return metav1.StatusReasonUnauthorized
	case errors.Is(err, registry.ErrForbidden), errors.Is(err, registry.ErrBlocked):
		return metav1.StatusReasonForbidden
	case errors.Is(err, registry.ErrInsecureRequired):
		return metav1.StatusReasonBadRequest
	case errors.As(err, &he) && he.StatusCode == http.StatusBadRequest:
		return metav1.StatusReasonBadRequest
	case errors.Is(err, context.Canceled):
		return metav1.StatusReasonInternalError
	}
	return metav1.StatusReasonInternalError
}
