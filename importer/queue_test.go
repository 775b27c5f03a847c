package importer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	digest "github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
)

// The queue counts what each write did, and settles a write it could not
// queue through the same callback, so no caller handles a failure twice.
func TestQueueCountsAndSettlesFailures(t *testing.T) {
	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, dbtest.New(t), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	runID, err := cat.BeginRun(ctx, "test", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cat.NewWriter(ctx, catalog.WriterOptions{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	q := newQueue(w, func() catalog.StreamMarker { return nil })
	config := []byte(`{"architecture":"amd64","os":"linux","created":"2024-01-01T00:00:00Z","rootfs":{"type":"layers","diff_ids":[]}}`)
	raw := []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":%q,"size":%d},"layers":[]}`,
		digest.FromBytes(config), len(config)))
	n, err := NormalizeImage("r.example.com/a", raw, "application/vnd.docker.distribution.manifest.v2+json", digest.FromBytes(raw), config)
	if err != nil {
		t.Fatal(err)
	}
	img := n.Image
	var outcomes []catalog.Outcome
	record := func(o catalog.Outcome, err error) {
		if err != nil {
			t.Errorf("write: %v", err)
		}
		outcomes = append(outcomes, o)
	}
	q.PutImage(ctx, catalog.ImageRecord{Image: img}, record)
	q.PutImage(ctx, catalog.ImageRecord{Image: img}, record)
	q.PutTag(ctx, catalog.TagRecord{Repository: "r.example.com/a", Tag: "v1", Image: img.Name, DockerImageReference: img.DockerImageReference}, record)
	if err := q.close(); err != nil {
		t.Fatal(err)
	}
	var sum Summary
	q.addTo(&sum)
	if sum.ImagesCreated != 1 || sum.ImagesUnchanged != 1 || sum.TagsCreated != 1 || len(outcomes) != 3 {
		t.Errorf("counts %+v, outcomes %v; want 1 created, 1 unchanged, 1 tag", sum, outcomes)
	}

	// Closed: every kind of write is settled with the writer's error.
	settled := 0
	settle := func(err error) {
		if !errors.Is(err, catalog.ErrWriterClosed) {
			t.Errorf("settled with %v, want ErrWriterClosed", err)
		}
		settled++
	}
	q.PutImage(ctx, catalog.ImageRecord{Image: img}, func(_ catalog.Outcome, err error) { settle(err) })
	q.PutVerification(ctx, img.Name, catalog.Verification{Repository: "r.example.com/a", Verdict: "accepted"}, func(_ catalog.Outcome, err error) { settle(err) })
	q.PutTag(ctx, catalog.TagRecord{Repository: "r.example.com/a", Tag: "v2", Image: img.Name}, func(_ catalog.Outcome, err error) { settle(err) })
	q.RemoveTags(ctx, "r.example.com/a", []string{"v1"}, catalog.ReasonNotFound, func(_ []catalog.RemovedTag, err error) { settle(err) })
	q.RemoveRepository(ctx, "r.example.com/a", func(_ []catalog.RemovedTag, err error) { settle(err) })
	q.PutImageStream(ctx, catalog.StreamUpdate{Namespace: "n", Name: "s", Apply: func(cur *imagev1.ImageStream) (*imagev1.ImageStream, error) { return cur, nil }}, func(_ *imagev1.ImageStream, _ catalog.Outcome, err error) { settle(err) })
	if settled != 6 {
		t.Errorf("%d of 6 refused writes were settled", settled)
	}
	sum = Summary{}
	q.addTo(&sum)
	if sum.ImagesCreated != 1 || sum.TagsRemoved != 0 {
		t.Errorf("refused writes were counted: %+v", sum)
	}
}
