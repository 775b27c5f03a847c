// Package imagestream holds what OpenShift does to an image stream when
// tags are imported into it, or vanish from their registry: tag events,
// ImportSuccess conditions, spec tags and generations (Apply), and the
// reading of a spec tag's from.name (ParseFrom). Both import modes use it:
// package streamimport for ImageStreamImport documents, package importer
// to mark the streams that pull a tag a run removed (MarkRemovedTags).
// It knows the catalog's types and nothing of registries.
package imagestream
