package catalog_test

import (
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog"
)

// A PostgreSQL URL loses its password wherever it is written; what helps
// to tell which database and how (host, user, sslmode) stays; a file path
// is kept as given.
func TestRedactDBHidesEveryPassword(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://alice:s3cret@db.example/cat":                           "postgres://alice@db.example/cat",
		"postgres://alice@db.example/cat?sslmode=require&password=s3cret":  "postgres://alice@db.example/cat?sslmode=require&password=xxxxx",
		"postgresql:///cat?host=/run/postgresql&password=s3cret":           "postgresql:///cat?host=/run/postgresql&password=xxxxx",
		"postgres://alice@db.example/cat?sslmode=require#password=s3cret":  "postgres://alice@db.example/cat?sslmode=require",
		"postgres://alice@db.example/cat?sslpassword=s3cret&sslkey=/k.pem": "postgres://alice@db.example/cat?sslpassword=xxxxx&sslkey=xxxxx",
		"/var/lib/regimport/catalog.db":                                    "/var/lib/regimport/catalog.db",
	} {
		got := catalog.RedactDB(in)
		if got != want || strings.Contains(got, "s3cret") {
			t.Errorf("RedactDB(%q) = %q, want %q", in, got, want)
		}
	}
}
