// Package importer turns registry manifests into OpenShift Image records.
//
// It holds what both import modes share and the plain import built on it:
//
//   - the core (fetch.go, normalize.go): a fetcher fetches a target (a tag
//     or a digest) through one registry client and returns its images
//     normalized exactly as OpenShift's image importer does (see
//     Normalize), a manifest list whole or, in Legacy mode, the one child
//     OpenShift picks; list children and configs are fetched once per run;
//   - the orchestration (orchestrate.go): one run record, one write queue
//     (queue.go) in front of the catalog's single writer that counts what
//     each write did and settles failed writes itself, one worker pool
//     whose jobs in flight get a grace period after an interrupt, failures
//     and signature verdicts gathered across workers, and one finish that
//     builds the Summary and records how the run ended. Session
//     (session.go) exposes core and orchestration to package
//     streamimport, the ImageStreamImport mode, which returns the same
//     Summary;
//   - the limits (limits.go) on what one reference may cost (time, list
//     children, signatures per image), and the guard that turns a panic in
//     one reference's work into that reference's failure;
//   - Run, the plain import: it expands what the user asked for (tags,
//     digests, whole repositories, whole registries) into targets, fetches
//     them on the pool and hands the results to the writer. One failing
//     target never stops the others: its reason becomes part of the
//     Summary, and the error Run returns is reserved for the run as a whole
//     (the catalog cannot be written, the context ended);
//   - tag filters (tagfilter.go) for repositories imported whole, in
//     either mode, and offline re-verification (Reverify).
//
// Complete listings (a whole tag list, a whole /v2/_catalog) are compared
// with the catalog, and what the registry no longer has is recorded as
// removed (removals.go says exactly when a listing counts as complete).
package importer
