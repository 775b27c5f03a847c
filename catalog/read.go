package catalog

import (
	"time"

	imagev1 "github.com/openshift/api/image/v1"
)

// ImagePage is one page of images in name order.
type ImagePage struct {
	Items []imagev1.Image
	// ResourceVersion is the catalog's resourceVersion when the page was read.
	ResourceVersion int64
	// Remaining counts images after this page (0: this is the last page).
	Remaining int64
}

// ListOptions select a page of images.
type ListOptions struct {
	// After is the name of the last image of the previous page ("" = from the start).
	After string
	// Names, when set, restricts the list to these image names.
	Names []string
	// Limit caps the page (0 = no cap).
	Limit int
	// WithoutRaw leaves dockerImageManifest and dockerImageConfig empty and
	// does not read them: they are about half of a page's bytes, and
	// OpenShift serves neither on the Images an import creates.
	WithoutRaw bool
}

// UnreferencedImage is an image that no current tag, no image stream tag
// history and no referenced manifest list points at any more.
// The report writes it as it is (see report_types.go).
type UnreferencedImage struct {
	// Digest is the image's name.
	Digest string `json:"digest"`
	// DockerImageReference is where it was first imported from.
	DockerImageReference string `json:"dockerImageReference"`
	Size                 int64  `json:"size"`
	// Since is when the last reference went away: the tag event that moved
	// or removed the last tag pointing at it (or at a list holding it), or
	// when the catalog stored it if no tag ever pointed at it.
	Since time.Time `json:"since"`
}
