// Package mirror turns catalog facts into mirror work, and does it.
//
// Build makes a Plan from the catalog alone, with no network: the current
// tags a destination should have (each named by the digest the catalog
// verified, never by tag), the tags held back by policy with the reason, and
// the tags the catalog saw removed from a complete listing, as deletions that
// only an apply with Prune acts on. Write renders a plan for the tools mirror
// teams use: oc image mirror's mapping file, a skopeo sync source file, a
// regsync configuration, OpenShift ImageDigestMirrorSet and ImageTagMirrorSet
// objects, or the plan itself as JSON.
//
// Apply copies a plan with containers/image's copy package: every platform
// of a list, digests preserved, simple signatures and sigstore attachments
// carried as registries.d says, and OCI referrers (signature bundles,
// notation signatures, attestations), which containers/image does not copy,
// copied by digest so their subjects still match. One HEAD per tag at the
// destination comes first and what is already there is skipped, so an apply
// with nothing new writes nothing; each tag's outcome is recorded in the
// catalog as it happens, so an interrupted apply resumes where it stopped.
//
// Data flows one way: cmd -> mirror -> catalog. A Plan is safe to share;
// Apply is safe to call from one goroutine at a time per Applier.
package mirror
