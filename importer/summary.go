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

// Failure is one reference that did not import, with why.
type Failure struct {
	Reference string
	Reason    string
	// Code is the Kubernetes Status reason OpenShift would report for it.
	Code metav1.StatusReason
}

// Outcome of one target.
type Outcome string

const (
	Imported  Outcome = "imported"  // at least one new image was stored
	Unchanged Outcome = "unchanged" // everything was already in the catalog
	Failed    Outcome = "failed"
)

// Result is what happened to one target (a tag or a digest).
type Result struct {
	Reference string // repository:tag or repository@digest
	Image     string // manifest digest, when known
	MediaType string
	Outcome   Outcome
	// Children is the number of images of a manifest list.
	Children int
	Err      error
}

// Summary is the outcome of a run.
type Summary struct {
	RunID int64
	// Shard is the part of a sharded import the run took (Request.Shard).
	Shard   catalog.Shard
	Results []Result
	// Failures lists every reference that failed, including those that
	// failed before any target existed (unparseable references, listing errors).
	Failures []Failure
	// ImagesCreated and ImagesUnchanged count manifests (list children included).
	ImagesCreated, ImagesUnchanged int
	// TagsCreated, TagsMoved count tag records written.
	TagsCreated, TagsMoved int
	// TagsRemoved counts tags the registry no longer has, removed from the
	// current tags; RepositoriesRemoved counts repositories missing from a
	// complete /v2/_catalog.
	TagsRemoved, RepositoriesRemoved int
	// Interrupted is set when the context ended before every target ran.
	Interrupted bool
	// Verdicts counts new images by the signature policy's verdict.
	Verdicts map[signatures.Verdict]int
	// VerifyTime is the time spent verifying signatures, summed over workers.
	VerifyTime time.Duration
	// Registries are the per-host request totals and RateLimit figures.
	Registries []registry.HostStats
}

// Counts of targets by outcome.
func (s *Summary) Counts() (imported, unchanged, failed int) {
	for _, r := range s.Results {
		switch r.Outcome {
		case Imported:
			imported++
		case Unchanged:
			unchanged++
		}
	}
	return imported, unchanged, len(s.Failures)
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
