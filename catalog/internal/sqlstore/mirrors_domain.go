package sqlstore

import "github.com/regimport/regimport/catalog"

// The mirror records' domain names, as domain.go does for the rest.
type (
	MirrorSourceTag         = catalog.MirrorSourceTag
	MirrorRemovedTag        = catalog.MirrorRemovedTag
	MirrorRunSpec           = catalog.MirrorRunSpec
	MirrorRunCounts         = catalog.MirrorRunCounts
	MirroredTag             = catalog.MirroredTag
	MirrorDestinationStatus = catalog.MirrorDestinationStatus
	MirrorLag               = catalog.MirrorLag
)
