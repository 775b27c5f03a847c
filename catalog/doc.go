// Package catalog owns the SQLite file that regimport writes and serves: its
// schema, its versioned migrations, the single writer that commits imports in
// batches, and the read queries the endpoint and reports use.
//
// The schema is normalized so that someone running `sqlite3 catalog.db` can
// audit it without regimport: images, their layers and list entries, image
// configs by digest, repositories with their current tags and tag history
// (added, moved, removed), signatures, and import runs with their failures.
// Nothing an import wrote is deleted by a later import: a tag the registry
// no longer has leaves `tags` and gets a 'removed' event, and its image stays
// until Writer.Prune is asked to delete images unreferenced for long enough. Every change to a served object gets a
// new row in `changes`, whose autoincrement id is the resourceVersion: it only
// grows, so list and watch can resume from any number a client has seen.
//
// A Catalog opened for writing is safe for concurrent use; all writes go
// through one Writer goroutine, so SQLite never sees two writers. Readers use a
// separate read-only pool and see committed data through WAL while a writer is
// busy, including from another process.
package catalog
