// Package streamimport imports ImageStreamImport documents as OpenShift's
// apiserver does (`regimport import -f`): it decodes them (Parse), defaults
// and validates them, plans which tags and digests to fetch, fetches them
// through importer's core on importer's shared orchestration (one run
// record, one write queue, one worker pool with its interrupt grace, one
// importer.Summary), fills each document's status as OpenShift reports it,
// and writes the images, then the image streams (see package imagestream
// for the stream rules).
package streamimport
