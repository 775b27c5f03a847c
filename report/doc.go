// Package report turns a regimport catalog into an audit report: what the
// registries hold, what is signed and by whom, what changed between runs,
// and where the bytes are. It needs the catalog and nothing else: no
// network, no write access (it reads through query.BeginReport, one
// read-only snapshot of a catalog.ReportSource, so every section
// describes the same state). Its SQL is its own, in report/query.
//
// # Sections
//
//   - Summary: headline numbers and four inline SVG charts (signed and
//     unsigned per repository, image sizes, image ages, changes per run).
//   - Signatures: per repository, images accepted, rejected and evaluated
//     with no policy; signed, unsigned (looked for, none found) and not
//     evaluated (never looked for) are kept apart. Signers with the
//     identities their signatures name; signatures by result and reason;
//     rejected images with the policy's reason. Every signature with the
//     evidence behind it (signer key or certificate, signing time and its
//     source, whether a third party attested it, certificate validity, log
//     and RFC 3161 evidence); trusted signatures whose time is unverified;
//     with --key-retired KEY=DATE, the key's signatures not proven to
//     predate DATE (evidence.go).
//   - Changes between two cuts (--since FROM[..TO], runs or times; by default
//     the run before the last and now): tags added, moved and removed,
//     repositories removed, images added,
//     images re-verified with another result, failed references, and the
//     activity of every run.
//   - Sizes: per repository unique and shared bytes, the largest images, the
//     layers shared across repositories, the images no tag references any
//     more and since when.
//   - Lineage: the base each image is built on (its manifest's base
//     annotations, else the longest proper prefix of its layers among the
//     catalog's images), the tag the base was seen under, and whether that
//     tag has moved on (report/query/lineage.go).
//   - Inventory: one row per tag, and one per image that no tag of its
//     repository points at (e.g. the entries of a manifest list).
//   - Limitations: what the catalog cannot tell (removals before schema 5,
//     verdicts before the history began, signers of unverified signatures),
//     said in the report itself.
//
// # Formats
//
// HTML is one self-contained file: style and script inline and pinned by a
// Content-Security-Policy that allows nothing else to load, so it opens
// offline and prints (a summary page first). Its tables sort and filter in
// the browser; the state lives in the URL fragment, e.g.
// #inventory.sort=size&inventory.dir=desc&inventory.q=app&inventory.f=rejected.
// JSON is the [Document] type, field names stable within [APIVersion]. CSV is
// one table per file (--table, default the inventory), RFC 4180, one header
// row, columns named like the JSON fields. Markdown has the summary and every
// table, for tickets.
//
// # Memory
//
// Aggregates are computed in SQL and are bounded by the number of
// repositories, signers and runs; the lists that grow with the catalog
// (inventory, rejected images, tag and image changes, failures, signatures
// and their evidence) are streamed from SQLite to the output one row at a
// time, in every format. Lineage is the exception: it indexes the layer lists
// of every image of the catalog in memory (16 bytes per layer) before its
// rows stream.
//
// Write is safe to call concurrently on one catalog; each call has its own
// snapshot. The package logs through the *slog.Logger in Options.
package report
