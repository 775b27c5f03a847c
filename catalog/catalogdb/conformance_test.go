package catalogdb_test

import (
	"path/filepath"
	"testing"

	"github.com/regimport/regimport/catalog/catalogtest"
	"github.com/regimport/regimport/internal/dbtest"
)

// The conformance suite on each backend: every behaviour of the catalog,
// the same checks, on a SQLite file and on a PostgreSQL database (which
// needs REGIMPORT_TEST_POSTGRES; make test starts one).
func TestSQLiteConformance(t *testing.T) {
	catalogtest.Run(t, func(t testing.TB) string { return filepath.Join(t.TempDir(), "catalog.db") })
}

func TestPostgresConformance(t *testing.T) {
	catalogtest.Run(t, dbtest.NewPostgres)
}
