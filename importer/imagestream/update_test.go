package imagestream

import (
	"fmt"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	kapierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestApplyImportFailureThenSuccess(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	notFound := kapierrors.NewNotFound(schema.GroupResource{Group: "image.openshift.io", Resource: "dockerimage"}, "r/a:v1").ErrStatus
	fail := TagUpdate{Tag: "v1", From: "r/a:v1", SpecImage: true, Failure: &notFound}
	ok := TagUpdate{Tag: "v1", From: "r/a:v1", SpecImage: true, Image: "sha256:1", PullSpec: "r/a@sha256:1"}

	is := Apply(nil, "ns", "a", []TagUpdate{fail}, now)
	if is.Generation != 1 || len(is.Spec.Tags) != 1 || *is.Spec.Tags[0].Generation != 1 || is.Status.Tags[0].Conditions[0].Reason != "NotFound" {
		t.Fatalf("failed first import: %+v", is)
	}
	if again := Apply(is.DeepCopy(), "ns", "a", []TagUpdate{fail}, now.Add(time.Hour)); again != nil {
		t.Errorf("the same failure changed the stream: %+v", again.Status)
	}
	is = Apply(is.DeepCopy(), "ns", "a", []TagUpdate{ok}, now.Add(time.Hour))
	st := is.Status.Tags[0]
	if is.Generation != 2 || len(st.Conditions) != 0 || len(st.Items) != 1 || st.Items[0].Generation != 2 || *is.Spec.Tags[0].Generation != 2 {
		t.Fatalf("success after a failure: generation %d, %+v, spec %+v", is.Generation, st, is.Spec.Tags[0])
	}
	// The same image under the same reference again: nothing to do.
	if again := Apply(is.DeepCopy(), "ns", "a", []TagUpdate{ok}, now.Add(2*time.Hour)); again != nil {
		t.Errorf("an unchanged tag changed the stream")
	}
	// A failure of a repository tag (no spec tag for it) only marks the status.
	repoFail := fail
	repoFail.Tag, repoFail.SpecImage = "gone", false
	is = Apply(is.DeepCopy(), "ns", "a", []TagUpdate{repoFail}, now.Add(3*time.Hour))
	if len(is.Spec.Tags) != 1 || is.Status.Tags[0].Tag != "gone" || is.Generation != 2 {
		t.Errorf("repository tag failure: generation %d, spec %+v, status %+v", is.Generation, is.Spec.Tags, is.Status.Tags)
	}
}

func manyTagUpdates(n int) []TagUpdate {
	var updates []TagUpdate
	for i := range n {
		d := fmt.Sprintf("sha256:%064d", i)
		updates = append(updates, TagUpdate{Tag: fmt.Sprint("t", i), From: fmt.Sprint("r/a:t", i), Image: d, PullSpec: "r/a@" + d,
			Policy: imagev1.TagImportPolicy{ImportMode: imagev1.ImportModeLegacy}})
	}
	return updates
}

// A repository import of thousands of tags gives a stream with every tag,
// and applying the same tags again changes nothing. (Its speed is measured
// by BenchmarkApplyManyTags, not timed here: a timed test fails on a busy
// machine and proves nothing on an idle one.)
func TestApplyImportManyTags(t *testing.T) {
	updates := manyTagUpdates(10000)
	now := time.Now()
	is := Apply(nil, "ns", "a", updates, now)
	if is == nil || len(is.Status.Tags) != len(updates) || len(is.Spec.Tags) != len(updates) {
		t.Fatalf("the stream does not hold the 10,000 tags: %v", is != nil)
	}
	if again := Apply(is, "ns", "a", updates, now); again != nil {
		t.Error("re-applying the same tags changed the stream")
	}
}

// BenchmarkApplyManyTags applies 1,000 and 10,000 tags; ns/op should grow
// about tenfold between the two, not a hundredfold.
//
//	go test -tags containers_image_openpgp -run '^$' -bench ApplyManyTags ./importer/imagestream/
func BenchmarkApplyManyTags(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		updates := manyTagUpdates(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			now := time.Now()
			for b.Loop() {
				is := Apply(nil, "ns", "a", updates, now)
				Apply(is, "ns", "a", updates, now)
			}
		})
	}
}
