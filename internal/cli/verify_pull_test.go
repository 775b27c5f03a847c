package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/testregistry"
)

// verify exits as import does: 4 when a node could not pull a current tag
// (its pull verdict, over a list's platforms), never for a list's own
// signature alone.
func TestVerifyExitsOnPullVerdicts(t *testing.T) {
	e := newCosignEnv(t)
	ctx := context.Background()
	verify := func(db string) (int, string) {
		t.Helper()
		code, out, errOut := runCLI(t, "verify", "--db", db, "--policy", e.policy)
		return code, out + errOut
	}

	// cosign sign on the index alone: no platform pulls.
	indexOnly := dbtest.New(t)
	idx, err := e.reg.Push(ctx, testregistry.ImageSpec{Repository: "prod/vindex", Tags: []string{"1"}, Format: testregistry.OCIIndex, Seed: 51})
	if err != nil {
		t.Fatal(err)
	}
	e.sign(t, "prod/vindex", idx.Digest)
	if code, out := e.importRef(t, indexOnly, "prod/vindex:1"); code != ExitRejected {
		t.Fatalf("import of the index-only signed list: exit %d, want 4\n%s", code, out)
	}
	code, out := verify(indexOnly)
	if code != ExitRejected || !strings.Contains(out, "pull rejected  "+e.reg.Host()+"/prod/vindex:1: ") {
		t.Fatalf("verify of the index-only signed list: exit %d, want 4 with its pull verdict rejected\n%s", code, out)
	}

	// Both platforms signed, the index not: every node pulls it. The
	// index's own pair is rejected, and still listed as such.
	platforms := dbtest.New(t)
	both, err := e.reg.Push(ctx, testregistry.ImageSpec{Repository: "prod/vboth", Tags: []string{"1"}, Format: testregistry.OCIIndex, Seed: 52})
	if err != nil {
		t.Fatal(err)
	}
	if len(both.Children) != 2 {
		t.Fatalf("%d platforms pushed, want 2", len(both.Children))
	}
	for _, c := range both.Children {
		e.sign(t, "prod/vboth", c.Digest)
	}
	if code, out := e.importRef(t, platforms, "prod/vboth:1"); code != ExitOK {
		t.Fatalf("import of the list signed per platform: exit %d, want 0\n%s", code, out)
	}
	code, out = verify(platforms)
	if code != ExitOK || strings.Contains(out, "pull ") ||
		!strings.Contains(out, "rejected    "+e.reg.Host()+"/prod/vboth@"+both.Digest.String()) ||
		!strings.Contains(out, "2 accepted, 1 rejected") {
		t.Fatalf("verify of the list signed per platform: exit %d, want 0 with only the index's pair rejected\n%s", code, out)
	}
}
