package catalogdb

import (
	"context"
	"database/sql"
	"strings"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/dbschema"
	"github.com/regimport/regimport/catalog/internal/sqlstore"
)

// The copy between catalogs (copy.go) reads the tables, columns, keys and
// foreign keys from each database's own schema (package dbschema) rather
// than from a list kept by hand, so that a migration adding a table or a
// column needs no change there.

// migrationsTable is each catalog's own migration history. A copy leaves
// it out: the destination has the history of its own dialect (PostgreSQL
// starts at version 7), written when it was migrated.
const migrationsTable = "schema_migrations"

// readSchema lists the catalog's tables, by name, through q (a transaction
// of this catalog).
func readSchema(ctx context.Context, c *sqlstore.Catalog, q querier) (map[string]*dbschema.Table, error) {
	if isPostgres(c) {
		return dbschema.ReadPostgres(ctx, q)
	}
	return dbschema.ReadSQLite(ctx, q)
}

// quoteIdent quotes a table or column name; both dialects read "name".
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// querier is a transaction or a pool: what reads a schema or counts rows.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// isPostgres reports whether the catalog c lives in PostgreSQL.
func isPostgres(c *sqlstore.Catalog) bool { return c.Dialect() == catalog.DialectPostgres }
