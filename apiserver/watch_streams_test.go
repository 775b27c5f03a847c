package apiserver

import (
	"context"
	"fmt"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// putStream writes one image stream through the catalog's writer.
func (f *fixture) putStream(t *testing.T, is *imagev1.ImageStream) {
	t.Helper()
	ctx := context.Background()
	w, err := f.writer.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var perr error
	w.PutImageStream(ctx, catalog.StreamUpdate{Namespace: is.Namespace, Name: is.Name, Apply: func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
		return is.DeepCopy(), nil
	}}, func(_ *imagev1.ImageStream, _ catalog.Outcome, err error) { perr = err })
	if err := w.Close(); err != nil || perr != nil {
		t.Fatal(err, perr)
	}
}

func streamOf(ns, name, image, reason string) *imagev1.ImageStream {
	st := imagev1.NamedTagEventList{Tag: "v1", Items: []imagev1.TagEvent{{Created: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
		DockerImageReference: "registry.example.com/app@" + image, Image: image, Generation: 1}}}
	if reason != "" {
		st.Conditions = []imagev1.TagEventCondition{{Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, Reason: reason, Generation: 2}}
	}
	return &imagev1.ImageStream{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1}, Status: imagev1.ImageStreamStatus{Tags: []imagev1.NamedTagEventList{st}}}
}

// Image streams can be watched like images: the change log's imagestreams
// rows become events, within the namespace (and name) asked for.
func TestWatchImageStreams(t *testing.T) {
	f := newFixture(t, 1)
	image := testImage(0).Image.Name
	f.putStream(t, streamOf("team", "app", image, ""))
	f.putStream(t, streamOf("other", "app", image, ""))
	_, ts := serve(t, f.reader, Options{})
	rv, _ := f.reader.ResourceVersion(context.Background())

	inTeam := openWatch(t, fmt.Sprintf("%s/apis/image.openshift.io/v1/namespaces/team/imagestreams?watch=true&resourceVersion=%d", ts.URL, rv), nil)
	one := openWatch(t, fmt.Sprintf("%s/apis/image.openshift.io/v1/watch/namespaces/team/imagestreams/app?resourceVersion=%d", ts.URL, rv), nil)
	initial := openWatch(t, ts.URL+"/apis/image.openshift.io/v1/imagestreams?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan", nil)
	for range 2 {
		if ev := initial.mustNext(t); ev.Type != "ADDED" {
			t.Fatalf("initial event %s %s", ev.Type, ev.Object)
		}
	}
	if ev := initial.mustNext(t); ev.Type != "BOOKMARK" {
		t.Fatalf("after the initial events: %s %s", ev.Type, ev.Object)
	}

	f.putStream(t, streamOf("other", "app", image, "NotFound")) // outside the namespace watch
	f.putStream(t, streamOf("team", "app", image, "NotFound"))
	for name, es := range map[string]*eventStream{"namespace": inTeam, "one stream": one} {
		ev := es.mustNext(t)
		is := decode[imagev1.ImageStream](t, ev.Object)
		if ev.Type != "MODIFIED" || is.Kind != "ImageStream" || is.Namespace != "team" ||
			len(is.Status.Tags) != 1 || len(is.Status.Tags[0].Conditions) != 1 || is.Status.Tags[0].Conditions[0].Reason != "NotFound" {
			t.Errorf("%s watch: %s %s", name, ev.Type, ev.Object)
		}
		if ev, ok := es.next(t, 300*time.Millisecond); ok {
			t.Errorf("%s watch: unexpected %s %s", name, ev.Type, ev.Object)
		}
	}
	seen := map[string]bool{}
	for range 2 {
		ev := initial.mustNext(t)
		is := decode[imagev1.ImageStream](t, ev.Object)
		seen[ev.Type+" "+is.Namespace] = true
	}
	if !seen["MODIFIED team"] || !seen["MODIFIED other"] {
		t.Errorf("all-namespaces watch saw %v", seen)
	}
}
