package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/regfront"
	"github.com/regimport/regimport/internal/testregistry"
)

// hostileImport pushes team/app:v1 and the hostile repository's v1..v3 to
// a fronted registry, runs the import given by args (built from the
// registry's host and a fresh catalog) and checks the hostile reference
// fails within seconds with exit 3 while team/app:v1 is imported.
func hostileImport(t *testing.T, opts regfront.Options, hostile string, args func(host, db string) []string, wantReason string) {
	t.Helper()
	reg, _ := frontedRegistry(t, opts)
	for i, repo := range []string{"team/app", hostile} {
		if _, err := reg.Push(context.Background(), testregistry.ImageSpec{Repository: repo, Tags: []string{"v1", "v2", "v3"},
			Format: testregistry.Schema2, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(t.TempDir(), "c.db")
	start := time.Now()
	code, out, errOut := runCLI(t, args(reg.Host(), db)...)
	took := time.Since(start)
	t.Logf("exit %d after %s\n%s", code, took.Round(time.Millisecond), out)
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitPartial, out, errOut)
	}
	if took > 30*time.Second {
		t.Fatalf("the hostile reference took %s to fail, want seconds", took)
	}
	if !strings.Contains(out, "failed    "+reg.Host()+"/"+hostile) || !strings.Contains(out, wantReason) {
		t.Fatalf("the summary does not fail %s naming %q:\n%s", hostile, wantReason, out)
	}
	cat, err := catalogdb.Open(context.Background(), db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if img, err := cat.TagImage(context.Background(), reg.Host()+"/team/app", "v1"); err != nil || img == "" {
		t.Fatalf("team/app:v1 was not imported beside the hostile reference (%v)", err)
	}
}

// A registry answering one repository with a 1 MB WWW-Authenticate fails
// that reference within seconds, naming the header cap; the other
// reference of the run is imported.
func TestChallengeFloodFailsOnlyItsReference(t *testing.T) {
	hostileImport(t, regfront.Options{FloodRepository: "team/flood"}, "team/flood", func(host, db string) []string {
		return []string{"import", "--db", db, "--tls-verify=false", "--progress", "never", host + "/team/flood:v1", host + "/team/app:v1"}
	}, "MaxResponseHeaderBytes")
}

// A tag list whose pages never end (each links to a new query string and
// repeats the same tags) fails its repository within seconds; the other
// source of the run is imported.
func TestEndlessTagListFailsOnlyItsRepository(t *testing.T) {
	hostileImport(t, regfront.Options{EndlessTags: "team/endless"}, "team/endless", func(host, db string) []string {
		cfg := filepath.Join(filepath.Dir(db), "job.yaml")
		doc := fmt.Sprintf("apiVersion: regimport.io/v1\nkind: Config\ncatalog: %s\ntlsVerify: false\nsources:\n  - repository: %s/team/endless\n  - images: [%s/team/app:v1]\n", db, host, host)
		if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"import", "--config", cfg, "--progress", "never"}
	}, "no new tag")
}

// A repository whose tag list is longer than --max-listed-tags fails,
// naming the cap, rather than being imported short; the run's other
// source is imported and the run exits 3.
func TestMaxListedTagsFailsOnlyItsRepository(t *testing.T) {
	hostileImport(t, regfront.Options{}, "team/many", func(host, db string) []string {
		cfg := filepath.Join(filepath.Dir(db), "job.yaml")
		doc := fmt.Sprintf("apiVersion: regimport.io/v1\nkind: Config\ncatalog: %s\ntlsVerify: false\nsources:\n  - repository: %s/team/many\n  - images: [%s/team/app:v1]\n", db, host, host)
		if err := os.WriteFile(cfg, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return []string{"import", "--config", cfg, "--progress", "never", "--max-listed-tags", "2"}
	}, "max-listed-tags")
}
