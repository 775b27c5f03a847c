// Package query holds the report's SQL and the rows it returns: the
// read-only queries of `regimport report`, run in one snapshot of the
// catalog (catalog.ReportSource: a read-only transaction and its
// dialect), and their row types with the report's JSON names. The
// report owns them: where SQLite and PostgreSQL differ, dialect.go spells
// each database's expression, by the same rules as the catalog's backends.
package query
