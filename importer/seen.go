package importer

import (
	"hash/maphash"
	"sync"
)

// seenImages remembers the images a run has queued for the writer, so that
// an image several tags or lists share is fetched and written once. What it
// holds for an image shrinks once the image is written, so that a run of
// many tags does not keep what it has finished with:
//
//   - while its write is queued, the image's name, exactly (a bounded
//     number: the writer's queue and the workers' targets);
//   - once written, 8 bytes: a hash of the name under a seed made for this
//     run. A name whose hash is there may be another name's collision, so
//     that answer is confirmed by the catalog, which holds every image
//     written (seenImages.has says which answer needs it). A seed nobody
//     outside the process knows means a registry cannot make its names
//     collide on purpose; a collision costs one catalog read, never an
//     image.
//
// A write that failed leaves nothing behind: the image is fetched again
// when another tag names it.
//
// An image counts as queued only once its write is in the writer's queue
// (queue is called after the write is handed over, not before): a target
// that finds it queued skips it and queues its own tag, list or verdict
// after it, and the writer applies writes in the order they came. Marked
// a moment before, the image let such a tag into the queue ahead of it,
// and the tag failed the catalog's foreign key. In the moment between the
// hand-over and queue (a hand-over can wait while the writer's queue is
// full), another target does not find the image and normalizes it again,
// from its config still cached (fetcher.configBlobs, kept until the write
// settles): a duplicate write, never another request or a failed write.
type seenImages struct {
	mu      sync.Mutex
	queued  map[string]int // name -> its writes not yet settled
	written map[uint64]struct{}
	seed    maphash.Seed
	// hash is maphash.String under seed; a test replaces it to make every
	// name collide.
	hash func(seed maphash.Seed, name string) uint64
}

func newSeenImages() *seenImages {
	return &seenImages{queued: map[string]int{}, written: map[uint64]struct{}{}, seed: maphash.MakeSeed(), hash: maphash.String}
}

// queue records that a write of name is in the writer's queue. The write
// may have settled already (the writer commits on its own goroutine): the
// count then goes from -1 back to 0.
func (s *seenImages) queue(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(name, 1)
}

// settle records that a queued write of name ended: written (ok) or
// failed. The hash is added before the name is dropped, so that a queued
// image is never in neither.
func (s *seenImages) settle(name string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.written[s.hash(s.seed, name)] = struct{}{}
	}
	s.add(name, -1)
}

// add counts name's unsettled writes; a name at 0 is dropped.
func (s *seenImages) add(name string, n int) {
	if s.queued[name] += n; s.queued[name] == 0 {
		delete(s.queued, name)
	}
}

// has reports whether name was queued (sure) or may have been written
// (confirm: only the catalog can tell a written image from a collision).
func (s *seenImages) has(name string) (sure, confirm bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queued[name] > 0 {
		return true, false
	}
	_, confirm = s.written[s.hash(s.seed, name)]
	return false, confirm
}

// sizes are how many names are queued and how many written images are
// remembered, for tests.
func (s *seenImages) sizes() (queued, written int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queued), len(s.written)
}
