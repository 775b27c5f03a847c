// Package dbtest gives each test its own catalog database on the backend
// under test: a SQLite file in the test's temporary directory, or a fresh
// database on a PostgreSQL server. `make test` runs the catalog's users
// once per backend (see the Makefile): REGIMPORT_TEST_BACKEND=postgres
// selects PostgreSQL, on the server REGIMPORT_TEST_POSTGRES names, which
// scripts/pg-cluster starts.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Environment variables the tests read.
const (
	EnvBackend = "REGIMPORT_TEST_BACKEND"  // "postgres", else SQLite
	EnvServer  = "REGIMPORT_TEST_POSTGRES" // a server URL where tests may create databases
)

// Postgres reports whether this test run is the PostgreSQL pass.
func Postgres() bool { return os.Getenv(EnvBackend) == "postgres" }

// New returns a --db value for a new, empty catalog of the backend under test.
func New(t testing.TB) string {
	t.Helper()
	if Postgres() {
		return NewPostgres(t)
	}
	return filepath.Join(t.TempDir(), "catalog.db")
}

// SQLiteOnly skips a test that is about the SQLite file itself (its
// bytes, its locks, its older schemas) in the PostgreSQL pass. The SQLite
// pass runs it.
func SQLiteOnly(t testing.TB, why string) {
	t.Helper()
	if Postgres() {
		t.Skipf("SQLite only: %s (the SQLite pass of make test runs it)", why)
	}
}

// NewPostgres creates an empty database on the test server and drops it
// when the test ends. Without a server the test fails under CI and is
// skipped elsewhere, saying how to get one.
func NewPostgres(t testing.TB) string {
	t.Helper()
	server := os.Getenv(EnvServer)
	if server == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: make test starts a PostgreSQL server with scripts/pg-cluster and sets it", EnvServer)
		}
		t.Skipf("no PostgreSQL server: run `make test`, or `scripts/pg-cluster start DIR` and set %s to the URL it prints", EnvServer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to the test PostgreSQL server %s: %v", EnvServer, err)
	}
	defer admin.Close(ctx)
	b := make([]byte, 8)
	rand.Read(b)
	name := "regimport_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("drop test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `DROP DATABASE `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s: %v", EnvServer, err)
	}
	u.Path = "/" + name
	return u.String()
}
