package importer_test

import (
	"context"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/testregistry"
)

// The crafted index (a child's config.digest is its sibling's manifest
// digest) fails its own reference with a clear error, in both modes; the
// other reference is imported and the run is recorded partial.
func TestCraftedIndexFailsAlone(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.reg.PushCraftedIndex(ctx, "crafted/app", "v1", 41); err != nil {
		t.Fatal(err)
	}
	good := e.push(t, testregistry.ImageSpec{Repository: "plain/app", Tags: []string{"v1"}, Format: testregistry.Schema2, Seed: 42})
	host := e.reg.Host()
	s := e.run(t, importer.Request{References: []string{host + "/crafted/app:v1", host + "/plain/app:v1"}})
	if len(s.Failures) != 1 || s.Failures[0].Reference != host+"/crafted/app:v1" || !strings.Contains(s.Failures[0].Reason, "is a manifest, not an image config") {
		t.Fatalf("failures %+v, want the crafted reference only, naming its config", s.Failures)
	}
	if _, err := e.cat.GetImage(ctx, good.Digest.String()); err != nil {
		t.Errorf("the other reference was not imported: %v", err)
	}
	runs, err := e.cat.Runs(ctx, 1)
	if err != nil || len(runs) != 1 || runs[0].Status != catalog.RunPartial {
		t.Fatalf("runs %+v (%v), want one partial", runs, err)
	}

	crafted := fromImage(host + "/crafted/app:v1")
	crafted.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal
	isi := isiOf("crafted", true, crafted, fromImage(host+"/plain/app:v1"))
	sum, err := streamimport.Import(ctx, e.imp, []*imagev1.ImageStreamImport{isi}, streamimport.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Failures) != 1 || !strings.Contains(sum.Failures[0].Reason, "is a manifest, not an image config") {
		t.Fatalf("import -f failures %+v, want the crafted image only", sum.Failures)
	}
	if st := isi.Status.Images[1].Status.Status; st != "Success" {
		t.Errorf("the other image's status is %q", st)
	}
}
