package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/importer/streamimport"
	"github.com/regimport/regimport/internal/sigtest"
	corev1 "k8s.io/api/core/v1"
)

// Image stream status tags carry their pull verdict: a list's over its
// platform instances (all signed in signed/gpg), a single image's its own.
func TestImageStreamTagsCarryTheirPullVerdict(t *testing.T) {
	e := newSharedEnv(t)
	ctx := context.Background()
	seed, list := fromImage(e.repo(sigtest.SharedSeed)+":v1"), fromImage(e.repo(sigtest.SharedGPG)+":list")
	seed.To, list.To = &corev1.LocalObjectReference{Name: "seed"}, &corev1.LocalObjectReference{Name: "list"}
	list.ImportPolicy.ImportMode = imagev1.ImportModePreserveOriginal // the list itself, not one of its children
	strict := filepath.Join(t.TempDir(), "strict.json")
	if err := os.WriteFile(strict, []byte(`{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"`+
		e.repo(sigtest.SharedSeed)+`":[{"type":"reject"}]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e.s.Policy = strict
	sum, err := streamimport.Import(ctx, e.importer(t), []*imagev1.ImageStreamImport{isiOf("pulls", true, seed, list)}, streamimport.Options{})
	if err != nil || len(sum.Failures) != 0 {
		t.Fatalf("import: %v %+v", err, sum.Failures)
	}
	is, err := e.cat.GetImageStream(ctx, "team", "pulls")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"seed": "False/Rejected/pull verdict in " + e.repo(sigtest.SharedSeed),
		"list": "True/Accepted/pull verdict in " + e.repo(sigtest.SharedGPG) + ": all 2 platforms accepted"}
	for _, tag := range is.Status.Tags {
		got := ""
		for _, c := range tag.Conditions {
			if c.Type == catalog.ConditionPullVerdict {
				got = string(c.Status) + "/" + c.Reason + "/" + c.Message
			}
		}
		if !strings.HasPrefix(got, want[tag.Tag]) {
			t.Errorf("status tag %s: pull condition %q, want %q", tag.Tag, got, want[tag.Tag])
		}
		delete(want, tag.Tag)
	}
	if len(want) != 0 {
		t.Errorf("status tags missing: %v", want)
	}
}
