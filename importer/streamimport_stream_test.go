package importer

import (
	"fmt"
	"strings"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	kapierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestPrioritizeTagsAsOpenShift(t *testing.T) {
	tags := []string{"other", "5.1.3", "v5.1-rc1", "latest", "5.1", "a", "v5.2", "v5.1.3", "10.0"}
	PrioritizeTags(tags)
	want := "latest 10.0 v5.2 5.1 v5.1-rc1 5.1.3 v5.1.3 a other"
	if got := strings.Join(tags, " "); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestApplyImportFailureThenSuccess(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	notFound := kapierrors.NewNotFound(schema.GroupResource{Group: "image.openshift.io", Resource: "dockerimage"}, "r/a:v1").ErrStatus
	fail := tagUpdate{tag: "v1", from: "r/a:v1", specImage: true, failure: &notFound}
	ok := tagUpdate{tag: "v1", from: "r/a:v1", specImage: true, image: "sha256:1", pullSpec: "r/a@sha256:1"}

	is := applyImport(nil, "ns", "a", []tagUpdate{fail}, now)
	if is.Generation != 1 || len(is.Spec.Tags) != 1 || *is.Spec.Tags[0].Generation != 1 || is.Status.Tags[0].Conditions[0].Reason != "NotFound" {
		t.Fatalf("failed first import: %+v", is)
	}
	if again := applyImport(is.DeepCopy(), "ns", "a", []tagUpdate{fail}, now.Add(time.Hour)); again != nil {
		t.Errorf("the same failure changed the stream: %+v", again.Status)
	}
	is = applyImport(is.DeepCopy(), "ns", "a", []tagUpdate{ok}, now.Add(time.Hour))
	st := is.Status.Tags[0]
	if is.Generation != 2 || len(st.Conditions) != 0 || len(st.Items) != 1 || st.Items[0].Generation != 2 || *is.Spec.Tags[0].Generation != 2 {
		t.Fatalf("success after a failure: generation %d, %+v, spec %+v", is.Generation, st, is.Spec.Tags[0])
	}
	// The same image under the same reference again: nothing to do.
	if again := applyImport(is.DeepCopy(), "ns", "a", []tagUpdate{ok}, now.Add(2*time.Hour)); again != nil {
		t.Errorf("an unchanged tag changed the stream")
	}
	// A failure of a repository tag (no spec tag for it) only marks the status.
	repoFail := fail
	repoFail.tag, repoFail.specImage = "gone", false
	is = applyImport(is.DeepCopy(), "ns", "a", []tagUpdate{repoFail}, now.Add(3*time.Hour))
	if len(is.Spec.Tags) != 1 || is.Status.Tags[0].Tag != "gone" || is.Generation != 2 {
		t.Errorf("repository tag failure: generation %d, spec %+v, status %+v", is.Generation, is.Spec.Tags, is.Status.Tags)
	}
}

// A repository import of thousands of tags must not be quadratic.
func TestApplyImportManyTags(t *testing.T) {
	var updates []tagUpdate
	for i := range 10000 {
		d := fmt.Sprintf("sha256:%064d", i)
		updates = append(updates, tagUpdate{tag: fmt.Sprint("t", i), from: fmt.Sprint("r/a:t", i), image: d, pullSpec: "r/a@" + d,
			policy: imagev1.TagImportPolicy{ImportMode: imagev1.ImportModeLegacy}})
	}
	start := time.Now()
	is := applyImport(nil, "ns", "a", updates, start)
	is = applyImport(is, "ns", "a", updates, start)
	if is != nil {
		t.Error("re-applying the same tags changed the stream")
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("10,000 tags took %s", took)
	}
}
