package importer

import (
	"context"
	"sync"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
)

// Queue is a run's one write queue to the catalog, used by both import
// modes. It hands each write to the run's single writer and settles it
// through done in every case: with the writer's outcome once the write
// committed (or failed), or at once with the error when the write could
// not be queued, so a caller never handles a failure twice. It counts
// what the writes did, for the Summary. done may be nil; it runs on the
// writer's goroutine and must be quick.
type Queue struct {
	w catalog.Writer
	// mark marks removed tags in the image streams that pull them, as of now.
	mark func() catalog.StreamMarker

	mu     sync.Mutex
	counts writeCounts
}

// writeCounts are what the queued writes did.
type writeCounts struct {
	imagesCreated, imagesUnchanged int
	tagsCreated, tagsMoved         int
	tagsRemoved, reposRemoved      int
	streamsChanged                 int
}

func newQueue(w catalog.Writer, mark func() catalog.StreamMarker) *Queue {
	return &Queue{w: w, mark: mark}
}

// settle runs done with err when queueing failed.
func settle[T any](err error, done func(T, error)) {
	if err != nil && done != nil {
		var zero T
		done(zero, err)
	}
}

// PutImage stores an image (with its verdict, if any).
func (q *Queue) PutImage(ctx context.Context, rec catalog.ImageRecord, done func(catalog.Outcome, error)) {
	settle(q.w.PutImage(ctx, rec, func(o catalog.Outcome, err error) {
		if err == nil {
			q.count(func(c *writeCounts) {
				if o == catalog.Created {
					c.imagesCreated++
				} else {
					c.imagesUnchanged++
				}
			})
		}
		if done != nil {
			done(o, err)
		}
	}), done)
}

// PutVerification stores one repository's verdict of an image stored before.
func (q *Queue) PutVerification(ctx context.Context, image string, v catalog.Verification, done func(catalog.Outcome, error)) {
	settle(q.w.PutVerification(ctx, image, v, done), done)
}

// PutTag records where a registry tag points.
func (q *Queue) PutTag(ctx context.Context, rec catalog.TagRecord, done func(catalog.Outcome, error)) {
	settle(q.w.PutTag(ctx, rec, func(o catalog.Outcome, err error) {
		if err == nil {
			q.count(func(c *writeCounts) {
				switch o {
				case catalog.Created:
					c.tagsCreated++
				case catalog.Updated:
					c.tagsMoved++
				}
			})
		}
		if done != nil {
			done(o, err)
		}
	}), done)
}

// RemoveTags removes tags the registry no longer has from the current
// tags, marking them in the image streams that pull them.
func (q *Queue) RemoveTags(ctx context.Context, repository string, tags []string, reason string, done func([]catalog.RemovedTag, error)) {
	rec := catalog.TagRemoval{Repository: repository, Tags: tags, Reason: reason, MarkStream: q.mark()}
	settle(q.w.RemoveTags(ctx, rec, q.countRemoved(false, done)), done)
}

// RemoveRepository removes every current tag of a repository the registry
// no longer lists.
func (q *Queue) RemoveRepository(ctx context.Context, repository string, done func([]catalog.RemovedTag, error)) {
	settle(q.w.RemoveRepository(ctx, repository, q.mark(), q.countRemoved(true, done)), done)
}

func (q *Queue) countRemoved(repo bool, done func([]catalog.RemovedTag, error)) func([]catalog.RemovedTag, error) {
	return func(removed []catalog.RemovedTag, err error) {
		if err == nil {
			q.count(func(c *writeCounts) {
				c.tagsRemoved += len(removed)
				if repo {
					c.reposRemoved++
				}
			})
		}
		if done != nil {
			done(removed, err)
		}
	}
}

// PutImageStream applies an update to an image stream.
func (q *Queue) PutImageStream(ctx context.Context, u catalog.StreamUpdate, done func(*imagev1.ImageStream, catalog.Outcome, error)) {
	err := q.w.PutImageStream(ctx, u, func(is *imagev1.ImageStream, o catalog.Outcome, err error) {
		if err == nil && o != catalog.Unchanged {
			q.count(func(c *writeCounts) { c.streamsChanged++ })
		}
		if done != nil {
			done(is, o, err)
		}
	})
	if err != nil && done != nil {
		done(nil, catalog.Unchanged, err)
	}
}

// close waits for every queued write and its callback.
func (q *Queue) close() error { return q.w.Close() }

// addTo adds what the writes did to sum.
func (q *Queue) addTo(sum *Summary) {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.counts
	sum.ImagesCreated += c.imagesCreated
	sum.ImagesUnchanged += c.imagesUnchanged
	sum.TagsCreated += c.tagsCreated
	sum.TagsMoved += c.tagsMoved
	sum.TagsRemoved += c.tagsRemoved
	sum.RepositoriesRemoved += c.reposRemoved
	sum.StreamsChanged += c.streamsChanged
}

func (q *Queue) count(f func(*writeCounts)) {
	q.mu.Lock()
	f(&q.counts)
	q.mu.Unlock()
}
