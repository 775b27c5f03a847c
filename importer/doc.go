// Package importer turns registry manifests into OpenShift Image records.
//
// Run expands what the user asked for (tags, digests, whole repositories,
// whole registries) into targets, fetches their manifests and configs in a
// bounded worker pool through package registry, normalizes each manifest
// exactly as OpenShift's image importer does (see Normalize), and hands the
// results to the catalog's single writer. One failing target never stops the
// others: its reason becomes part of the Summary, and the error Run returns is
// reserved for the run as a whole (the catalog cannot be written, the context
// ended).
//
// Complete listings (a whole tag list, a whole /v2/_catalog) are compared
// with the catalog, and what the registry no longer has is recorded as
// removed (removals.go says exactly when a listing counts as complete).
package importer
