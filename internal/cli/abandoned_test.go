package cli

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// A run killed before it recorded its end (here: begun through the
// catalog and never finished) stays 'running' only until the next import
// takes the lock: that import marks it abandoned, and `regimport runs`
// says so and by which run, instead of showing it running forever.
func TestKilledRunIsMarkedAbandonedByTheNextRun(t *testing.T) {
	ctx := context.Background()
	reg := startRegistry(t)
	if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	db := dbtest.New(t)
	cat, err := catalogdb.Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	killed, err := cat.BeginRun(ctx, "regimport import (killed)", catalog.Shard{})
	cat.Close()
	if err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", reg.Host()+"/team/app:v1"); code != ExitOK {
		t.Fatalf("import: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "runs", "--db", db)
	if code != ExitOK {
		t.Fatalf("runs: exit %d %s", code, errOut)
	}
	want := fmt.Sprintf("abandoned (found dead by run %d at ", killed+1)
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "(killed)") {
			line = l
		}
	}
	if !strings.Contains(line, want) {
		t.Errorf("runs shows the killed run as %q, want %q in it:\n%s", line, want, out)
	}
}
