// Package sqlite is the catalog in a SQLite file: its dialect (times as
// RFC 3339 text compared through julianday(), JSON as text), its
// migrations (migrations/, every schema version from the first), its
// connections (a read-only pool and one writer connection in WAL mode,
// the file created private), and its run locks, flock(2) files next to the
// catalog file. The queries it shares with PostgreSQL are in
// catalog/internal/sqlstore; catalog/catalogdb opens it for a --db value
// that is not a PostgreSQL URL.
package sqlite
