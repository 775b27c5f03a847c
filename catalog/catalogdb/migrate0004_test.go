package catalogdb_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogtest"
	"github.com/regimport/regimport/report/reporttest"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// A 0003 catalog had one verdict per image. Migrated, it moves to every
// repository that references the image: by tag, by its
// dockerImageReference (imported by digest), by an image stream's tag, and
// as a child of a list referenced there. Signatures go with it; nothing is
// lost, and each migrated pair is marked for the next run to look up.
func TestMigration0004MovesVerdictsToTheReferencingRepositories(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "catalog.db")
	cat, err := catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const a, b, d, s = "r.example/a", "r.example/b", "r.example/d", "r.example/s"
	child := reporttest.Image{Seed: "child", Repository: a, Verdict: "accepted",
		Sigs: []reporttest.Sig{{Trusted: true, KeyID: "ABCD"}}}
	list := reporttest.List("list", a, child)
	list.Verification = &catalog.Verification{Verdict: "accepted"}
	byDigest := reporttest.Image{Seed: "by-digest", Repository: d, Verdict: "rejected", Reason: "no signature",
		Sigs: []reporttest.Sig{{Reason: "UnknownKey"}}}
	if err := reporttest.Write(ctx, cat, 0, []any{child.Record(), list, byDigest.Record(),
		reporttest.Tag(a, "v1", list.Image.Name), reporttest.Tag(b, "v1", list.Image.Name)}); err != nil {
		t.Fatal(err)
	}
	w, err := cat.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var streamErr error
	w.PutImageStream(ctx, catalog.StreamUpdate{Namespace: "team", Name: "s", Apply: func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
		return &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "s", Generation: 1},
			Status: imagev1.ImageStreamStatus{Tags: []imagev1.NamedTagEventList{{Tag: "v1", Items: []imagev1.TagEvent{{
				Created: metav1.NewTime(time.Now()), DockerImageReference: s + "@" + byDigest.Digest(), Image: byDigest.Digest(), Generation: 1}}}}}}, nil
	}}, func(_ *imagev1.ImageStream, _ catalog.Outcome, err error) { streamErr = err })
	if err := w.Close(); err != nil || streamErr != nil {
		t.Fatal(err, streamErr)
	}
	cat.Close()
	if err := catalogtest.RewindTo0003(ctx, path); err != nil {
		t.Fatal(err)
	}

	cat, err = catalogdb.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	for image, want := range map[string]map[string]string{
		list.Image.Name:   {a: "accepted", b: "accepted"},
		child.Digest():    {a: "accepted", b: "accepted"},
		byDigest.Digest(): {d: "rejected", s: "rejected"},
	} {
		vs, err := cat.Verdicts(ctx, image)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, v := range vs {
			if !v.Migrated {
				t.Errorf("%s in %s: not marked migrated", image, v.Repository)
			}
			got[v.Repository] = string(v.Verdict)
		}
		if len(got) != len(want) {
			t.Errorf("%s: verdicts %v, want %v", image, got, want)
		}
		for repo, verdict := range want {
			if got[repo] != verdict {
				t.Errorf("%s in %s: %q, want %q", image, repo, got[repo], verdict)
			}
		}
	}
	for _, repo := range []string{a, b} {
		sigs, err := cat.StoredSignatures(ctx, repo, child.Digest())
		if err != nil || len(sigs) != 1 || sigs[0].Object.Annotations[catalog.AnnotationSignatureRepository] != repo {
			t.Errorf("signatures of the child in %s: %+v %v", repo, sigs, err)
		}
	}
	img, err := cat.GetImage(ctx, child.Digest())
	if err != nil {
		t.Fatal(err)
	}
	var per map[string]string
	if err := json.Unmarshal([]byte(img.Annotations[catalog.AnnotationSignatureVerdicts]), &per); err != nil || len(per) != 2 ||
		img.Annotations[catalog.AnnotationSignatureVerdict] != "accepted" || len(img.Signatures) != 2 {
		t.Errorf("served child: annotations %v, %d signatures", img.Annotations, len(img.Signatures))
	}
	todo, err := cat.PairsToLookUp(ctx, b, list.Image.Name)
	if err != nil || len(todo) != 2 || todo[0] != list.Image.Name || todo[1] != child.Digest() {
		t.Errorf("pairs to look up in %s: %v %v, want the list then its child", b, todo, err)
	}
}
