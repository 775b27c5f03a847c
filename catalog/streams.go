package catalog

import imagev1 "github.com/openshift/api/image/v1"

// StreamUpdate changes one image stream inside the writer's transaction, so
// that the stream is read, changed and written with nothing in between, and
// after every operation queued before it (the images its tags point at).
type StreamUpdate struct {
	Namespace, Name string
	// Apply gets a copy of the stored stream (nil when there is none) and
	// returns the stream to store, or nil to leave it as it is. The catalog
	// assigns uid, resourceVersion and creationTimestamp; everything else,
	// generation included, is Apply's. Apply runs on the writer goroutine,
	// possibly twice (a batch with a failed operation is redone operation
	// by operation), so it must depend on its argument alone.
	Apply func(current *imagev1.ImageStream) (*imagev1.ImageStream, error)
}

// StreamMarker changes an image stream whose spec tags may import a removed
// tag (repository:tag, which pointed at previous) the way OpenShift shows a
// tag whose import now fails, or returns nil to leave it alone. It runs on the
// writer goroutine, possibly twice for one removal (see StreamUpdate.Apply).
type StreamMarker func(current *imagev1.ImageStream, repository, tag, previous string) *imagev1.ImageStream

// TagRemoval says that tags of a repository are gone from the registry.
type TagRemoval struct {
	Repository string
	// Tags to remove; those that are not current in the catalog are skipped.
	Tags []string
	// Reason is recorded with each removal event.
	Reason string
	// MarkStream, when set, updates the image streams that track a removed tag.
	MarkStream StreamMarker
}

// RemovedTag is one tag a removal took out of the current tags.
type RemovedTag struct {
	Repository, Tag string
	Previous        string // the digest it pointed at
}

// Removal reasons recorded in tag_events.reason.
const (
	// ReasonNotListed: the tag was absent from a complete tag list.
	ReasonNotListed = "not in the registry's complete tag list"
	// ReasonNotFound: the registry answered 404 for the tag itself.
	ReasonNotFound = "the registry answers 404 for the tag"
	// ReasonRepositoryRemoved: the repository was absent from a complete /v2/_catalog.
	ReasonRepositoryRemoved = "repository not in the registry's complete catalog"
)
