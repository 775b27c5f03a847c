package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// The crafted index fails alone: exit 3, the other reference imported, the
// run recorded partial (the process used to die with exit 2, leaving the
// run "running").
func TestImportCraftedIndexExitsPartial(t *testing.T) {
	reg := startRegistry(t)
	if _, err := reg.PushCraftedIndex(context.Background(), "crafted/app", "v1", 41); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "c.db")
	code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "-v",
		reg.Host()+"/crafted/app:v1", reg.Host()+"/team/app:v0")
	if code != ExitPartial {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitPartial, out, errOut)
	}
	if !strings.Contains(out, "failed    "+reg.Host()+"/crafted/app:v1: ") || !strings.Contains(out, "is a manifest, not an image config") {
		t.Errorf("the crafted reference's failure is not printed with its reason:\n%s", out)
	}
	if !strings.Contains(out, "imported  "+reg.Host()+"/team/app:v0") {
		t.Errorf("the other reference was not imported:\n%s", out)
	}
	code, out, _ = runCLI(t, "runs", "--db", db)
	if code != ExitOK || !strings.Contains(out, "partial") {
		t.Errorf("runs: exit %d, want the run partial:\n%s", code, out)
	}
}
