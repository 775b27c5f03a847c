package catalog

import (
	"strings"

	"github.com/regimport/regimport/internal/redact"
)

// IsPostgres reports whether a --db value names a PostgreSQL catalog
// (a postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// RedactDB is a --db value fit for logs, messages and the run record: a
// PostgreSQL URL loses its password, wherever it is written (userinfo or a
// password= parameter), and its fragment; a file path is kept.
func RedactDB(db string) string {
	if !IsPostgres(db) {
		return db
	}
	return redact.URL(db)
}
