package catalogtest

import (
	"database/sql"
	"net/url"
	"reflect"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for plain SQL under the API
	_ "github.com/mattn/go-sqlite3"    // the "sqlite3" driver

	"github.com/regimport/regimport/catalog"
)

// Suite is the catalog's conformance suite, in the manner of
// distribution's storage-driver suite: every behaviour of a catalog,
// checked through its exported API (and, where a test must look under
// it, plain SQL both databases accept) against one backend. Each exported
// method of Suite is one behaviour; Run runs them all as subtests.
type Suite struct {
	// NewDB returns a --db value for a new, empty catalog of the backend
	// under test: a SQLite file path or a PostgreSQL URL.
	NewDB func(testing.TB) string
	// postgres: NewDB gives PostgreSQL databases.
	postgres bool
}

// Run runs every behaviour of the suite against the backend newDB gives.
// catalog/catalogdb's tests call it once per backend.
func Run(t *testing.T, newDB func(testing.TB) string) {
	s := Suite{NewDB: newDB}
	// One database tells which backend newDB gives (a behaviour about
	// the SQLite file itself skips on PostgreSQL).
	s.postgres = catalog.IsPostgres(newDB(t))
	v := reflect.ValueOf(s)
	ty := v.Type()
	for i := 0; i < ty.NumMethod(); i++ {
		m := ty.Method(i)
		fn, ok := v.Method(i).Interface().(func(*testing.T))
		if !ok {
			continue
		}
		t.Run(m.Name, fn)
	}
}

// readDB is a plain read-only connection to the catalog's database, for
// a behaviour that must look under the API; closed with the test.
func readDB(t *testing.T, c catalog.Catalog) *sql.DB { return rawDB(t, c.Path(), true) }

// writeDB is readDB with write access.
func writeDB(t *testing.T, c catalog.Catalog) *sql.DB { return rawDB(t, c.Path(), false) }

func rawDB(t *testing.T, db string, readOnly bool) *sql.DB {
	t.Helper()
	driver, dsn := "sqlite3", "file:"+db
	if readOnly {
		dsn += "?mode=ro"
	}
	if catalog.IsPostgres(db) {
		u, err := url.Parse(db)
		if err != nil {
			t.Fatal(err)
		}
		if readOnly {
			q := u.Query()
			q.Set("default_transaction_read_only", "on")
			u.RawQuery = q.Encode()
		}
		driver, dsn = "pgx", u.String()
	}
	conn, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// sqliteOnly skips a behaviour that is about the SQLite file itself.
func (s Suite) sqliteOnly(t *testing.T, why string) {
	t.Helper()
	if s.postgres {
		t.Skipf("SQLite only: %s", why)
	}
}
