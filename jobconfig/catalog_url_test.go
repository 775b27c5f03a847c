package jobconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A PostgreSQL URL as the catalog is kept as written, not joined to the
// configuration's directory as if it were a file (which would make the
// run open a SQLite file named after it and print its password in errors).
func TestCatalogPostgresURLIsNotAPath(t *testing.T) {
	dir := t.TempDir()
	for _, db := range []string{"postgres://regimport:s3cret@db.example:5432/catalog?sslmode=require", "postgresql:///catalog?host=/run/postgresql"} {
		path := filepath.Join(dir, "job.yaml")
		doc := "apiVersion: regimport.io/v1\nkind: Config\ncatalog: " + db + "\nsources: [{images: [r.example.com/a:1]}]\n"
		if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.Catalog != db || strings.HasPrefix(c.Catalog, dir) {
			t.Errorf("catalog %q, want %q as written", c.Catalog, db)
		}
	}
}
