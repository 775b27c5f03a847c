// Package catalog owns the catalog regimport writes and serves, a SQLite
// file or a PostgreSQL database: its schema and versioned migrations for
// each, the single writer that commits imports in batches, and the read
// queries the endpoint and reports use.
//
// The schema is normalized so that someone running `sqlite3 catalog.db` or
// psql can audit it without regimport: images, their layers and list
// entries, image configs by digest, repositories with their current tags
// and tag history (added, moved, removed), signatures, and import runs
// with their failures. Each database keeps them in its own types: SQLite
// in TEXT, INTEGER and BLOB; PostgreSQL in timestamptz, jsonb (json for
// the metadata served byte for byte), boolean, bytea and identity columns.
// Nothing an import wrote is deleted by a later import: a tag the registry
// no longer has leaves `tags` and gets a 'removed' event, and its image
// stays until Writer.Prune is asked to delete images unreferenced for long
// enough. Every change to a served object gets a new row in `changes`,
// whose number is the resourceVersion: it only grows, so list and watch
// can resume from any number a client has seen.
//
// The SQL reaches each database as written; nothing is rewritten at run
// time. A query both accept is one text with $N parameters numbered in
// order of first appearance (params.go); where they differ, dialect.go
// composes each database's own expression when the query is built. That
// keeps one query set, readable in place, where sqlc would need two
// generated copies of it for a handful of differing expressions.
//
// A Catalog opened for writing is safe for concurrent use; all writes go
// through one Writer goroutine, so the database sees one writer per
// process (on PostgreSQL, writers of several processes take an advisory
// lock per transaction). Readers use a separate read-only pool and see
// committed data while a writer is busy (SQLite through WAL, including
// from another process; PostgreSQL in REPEATABLE READ snapshots).
package catalog
