package catalogtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"

	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// putStream runs one StreamUpdate through a Writer and returns what done got.
func putStream(t *testing.T, c catalog.Catalog, ns, name string, apply func(*imagev1.ImageStream) (*imagev1.ImageStream, error)) (*imagev1.ImageStream, catalog.Outcome, error) {
	t.Helper()
	ctx := context.Background()
	w, err := c.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got *imagev1.ImageStream
	var out catalog.Outcome
	var gotErr error
	if err := w.PutImageStream(ctx, catalog.StreamUpdate{Namespace: ns, Name: name, Apply: apply}, func(is *imagev1.ImageStream, o catalog.Outcome, err error) {
		got, out, gotErr = is, o, err
	}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return got, out, gotErr
}

func streamWith(ns, name string, gen int64, image string, at time.Time) *imagev1.ImageStream {
	return &imagev1.ImageStream{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: gen,
			Annotations: map[string]string{imagev1.DockerImageRepositoryCheckAnnotation: at.Format(time.RFC3339)}},
		Spec: imagev1.ImageStreamSpec{Tags: []imagev1.TagReference{{
			Name: "v1", From: &corev1.ObjectReference{Kind: "DockerImage", Name: "registry.example.com/app:v1"}, Generation: &gen,
			ImportPolicy: imagev1.TagImportPolicy{ImportMode: imagev1.ImportModeLegacy}, ReferencePolicy: imagev1.TagReferencePolicy{Type: imagev1.SourceTagReferencePolicy},
		}}},
		Status: imagev1.ImageStreamStatus{Tags: []imagev1.NamedTagEventList{
			{Tag: "v1", Items: []imagev1.TagEvent{{Created: metav1.NewTime(at), DockerImageReference: "registry.example.com/app@" + image, Image: image, Generation: gen}}},
			{Tag: "broken", Conditions: []imagev1.TagEventCondition{{Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse,
				LastTransitionTime: metav1.NewTime(at), Reason: "NotFound", Message: "not there", Generation: gen}}},
		}},
	}
}

func (s Suite) ImageStreamRoundTripAndResourceVersion(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	img := testImage(1)
	put(t, c, img)
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	want := streamWith("team", "app", 1, img.Image.Name, at)

	got, out, err := putStream(t, c, "team", "app", func(cur *imagev1.ImageStream) (*imagev1.ImageStream, error) {
		if cur != nil {
			t.Errorf("a new stream's Apply got %v", cur)
		}
		return want.DeepCopy(), nil
	})
	if err != nil || out != catalog.Created {
		t.Fatalf("create: %v %v", out, err)
	}
	if got.UID == "" || got.ResourceVersion == "" || got.CreationTimestamp.IsZero() || got.Kind != "ImageStream" {
		t.Errorf("server fields not assigned: %+v", got.ObjectMeta)
	}
	read, err := c.GetImageStream(ctx, "team", "app")
	if err != nil {
		t.Fatal(err)
	}
	if read.Status.Tags[0].Tag != "broken" || read.Status.Tags[0].Items != nil || read.Status.Tags[0].Conditions[0].Reason != "NotFound" {
		t.Errorf("status tags: %+v", read.Status.Tags)
	}
	if e := read.Status.Tags[1].Items[0]; e.Image != img.Image.Name || !e.Created.Time.Equal(at) || e.Generation != 1 {
		t.Errorf("tag event: %+v", e)
	}
	if s := read.Spec.Tags[0]; s.From.Name != "registry.example.com/app:v1" || *s.Generation != 1 || s.ImportPolicy.ImportMode != imagev1.ImportModeLegacy || s.ReferencePolicy.Type != imagev1.SourceTagReferencePolicy {
		t.Errorf("spec tag: %+v", s)
	}
	rv, _ := c.ResourceVersion(ctx)

	// Apply returning nil changes nothing, not even the resourceVersion.
	_, out, err = putStream(t, c, "team", "app", func(cur *imagev1.ImageStream) (*imagev1.ImageStream, error) {
		if cur == nil || cur.ResourceVersion != got.ResourceVersion {
			t.Errorf("Apply got %v, want the stored stream", cur)
		}
		return nil, nil
	})
	if err != nil || out != catalog.Unchanged {
		t.Fatalf("no-op: %v %v", out, err)
	}
	if rv2, _ := c.ResourceVersion(ctx); rv2 != rv {
		t.Errorf("resourceVersion moved %d -> %d without a change", rv, rv2)
	}

	// A change gets a new resourceVersion and a MODIFIED change row.
	updated, out, err := putStream(t, c, "team", "app", func(cur *imagev1.ImageStream) (*imagev1.ImageStream, error) {
		cur.Generation = 2
		cur.Status.Tags = cur.Status.Tags[1:] // the failed tag recovered elsewhere
		return cur, nil
	})
	if err != nil || out != catalog.Updated || updated.ResourceVersion == got.ResourceVersion || updated.UID != got.UID || len(updated.Status.Tags) != 1 {
		t.Fatalf("update: %v %v %+v", out, err, updated)
	}
	changes, _ := c.Changes(ctx, "imagestreams", 0, 10)
	if len(changes) != 2 || changes[0].Name != "team/app" || changes[0].Event != "ADDED" || changes[1].Event != "MODIFIED" {
		t.Errorf("changes: %+v", changes)
	}
}

func (s Suite) ImageStreamRefusesUnknownImages(t *testing.T) {
	c, _ := s.open(t)
	_, _, err := putStream(t, c, "team", "app", func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
		return streamWith("team", "app", 1, "sha256:"+strings.Repeat("a", 64), time.Now()), nil
	})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		t.Fatalf("a tag event to a missing image: %v", err)
	}
	if _, err := c.GetImageStream(context.Background(), "team", "app"); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("half-written stream: %v", err)
	}
}

func (s Suite) ListImageStreamsPages(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	img := testImage(2)
	put(t, c, img)
	// "a-b" sorts before "a" as "a-b/x" < "a/x": order is by namespace/name.
	for _, key := range [][2]string{{"a", "x"}, {"a-b", "x"}, {"a", "y"}, {"b", "z"}} {
		if _, _, err := putStream(t, c, key[0], key[1], func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
			return streamWith(key[0], key[1], 1, img.Image.Name, time.Now()), nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	after := ""
	for {
		items, rv, remaining, err := c.ListImageStreams(ctx, "", after, 3)
		if err != nil || rv == 0 {
			t.Fatal(rv, err)
		}
		for _, is := range items {
			seen = append(seen, is.Namespace+"/"+is.Name)
			if len(is.Status.Tags) != 2 || len(is.Spec.Tags) != 1 {
				t.Errorf("%s/%s loaded without its tags", is.Namespace, is.Name)
			}
		}
		if remaining == 0 {
			break
		}
		after = seen[len(seen)-1]
	}
	if strings.Join(seen, " ") != "a-b/x a/x a/y b/z" {
		t.Errorf("pages: %v", seen)
	}
	items, _, remaining, err := c.ListImageStreams(ctx, "a", "", 0)
	if err != nil || len(items) != 2 || remaining != 0 {
		t.Errorf("namespace a: %d streams, %d remaining, %v", len(items), remaining, err)
	}
}
