// Package catalog is the catalog's domain: the records regimport imports
// (ImageRecord, TagRecord, Verification, ...), runs and shards, verdicts,
// outcomes and failures, each declared once, and the store interfaces the
// importer, the endpoint, the command line and the reports use (Catalog,
// its parts Reader, RunStore, VerdictReader and ReportSource, and Writer),
// with the errors they return. It holds no SQL and imports no driver.
//
// The catalog itself is a SQLite file or a PostgreSQL database. The
// packages under this one implement it:
//   - catalog/internal/sqlstore: what both databases share: the schema's
//     queries written once, the single writer that commits imports in
//     batches, the read queries, migrations' bookkeeping and the copy
//     between backends; it takes a Dialect for what differs;
//   - catalog/sqlite and catalog/postgres: each database's dialect, its
//     migrations, its connections, and its run locks (flock files next
//     to the SQLite file; advisory locks and LISTEN/NOTIFY on PostgreSQL);
//   - catalog/catalogdb: the opener, which picks the backend from the
//     --db value, and what spans both (run locks, copy, change feed);
//   - catalog/catalogtest: the conformance suite every backend passes;
//   - catalog/dbschema: reads either database's schema (copy, test dumps).
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
// A Catalog opened for writing is safe for concurrent use; all writes go
// through one Writer goroutine, so the database sees one writer per
// process (on PostgreSQL, writers of several processes take an advisory
// lock per transaction). Readers use a separate read-only pool and see
// committed data while a writer is busy (SQLite through WAL, including
// from another process; PostgreSQL in REPEATABLE READ snapshots).
package catalog
