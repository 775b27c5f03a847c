// Package sqlstore is the catalog (catalog.Catalog) as both of its
// databases run it: the queries both accept, written once; the single
// Writer goroutine that commits imports in batches, each write in its own
// savepoint; the read queries of the endpoint, the importer and the CLI;
// the migrations' bookkeeping; and the copy between backends. What the
// databases do differently comes from a Dialect, which catalog/sqlite and
// catalog/postgres implement: a few SQL expressions, the migration files,
// how transactions begin, lock and notify.
//
// The SQL reaches each database as written; nothing is rewritten at run
// time. A query both accept is one text with $N parameters numbered in
// order of first appearance (params.go); where they differ, the query is
// composed from the Dialect's expressions when it is built. That keeps one
// query set, readable in place, where sqlc would need two generated copies
// of it for a handful of differing expressions.
//
// The domain's names (catalog.ImageRecord and the rest) are aliased in
// domain.go, so this code names them as package catalog does.
package sqlstore
