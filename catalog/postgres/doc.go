// Package postgres is the catalog in a PostgreSQL database: its dialect
// (timestamptz, jsonb, strpos and split_part), its migrations
// (migrations/, from the version SQLite had reached when PostgreSQL was
// added), its connections through pgx (a pool read-only at the server and
// one writer connection, times read in UTC), its advisory locks (run
// locks on connections of their own, checked before each commit; the
// migration and write locks), and the change feed, LISTEN/NOTIFY. The
// queries it shares with SQLite are in catalog/internal/sqlstore;
// catalog/catalogdb opens it for a postgres:// or postgresql:// URL.
package postgres
