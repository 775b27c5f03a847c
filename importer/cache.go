package importer

import (
	"encoding/hex"
	"strings"
	"sync"
)

// cache is a concurrent map from digest to one type of value. Manifests
// and configs live in caches of their own, so that a digest which names a
// manifest in one place and a config in another (a crafted index can say
// so) is two entries, never one value read as the other type.
type cache[V any] struct{ m sync.Map }

func (c *cache[V]) load(key string) (V, bool) {
	v, ok := c.m.Load(key)
	if !ok {
		var zero V
		return zero, false
	}
	return v.(V), true // only store puts values here, all of type V
}

func (c *cache[V]) store(key string, v V) { c.m.Store(key, v) }

func (c *cache[V]) forget(key string) { c.m.Delete(key) }

// imageKey is the key an image name is remembered under for the whole run
// (fetcher.pairs): a sha256 digest as its 32 bytes, not the
// 71-byte string, which would also keep the string (and nothing else of
// the image needs it once written) alive to the end of the run. Other
// names stay strings.
type imageKey struct {
	sum  [32]byte
	name string // only when name is not a sha256 digest
}

func keyOf(name string) imageKey {
	hexPart, ok := strings.CutPrefix(name, "sha256:")
	var k imageKey
	if ok && len(hexPart) == 64 {
		if _, err := hex.Decode(k.sum[:], []byte(hexPart)); err == nil && hex.EncodeToString(k.sum[:]) == hexPart {
			return k
		}
	}
	return imageKey{name: strings.Clone(name)}
}

// pairKey is a (repository, image) pair's key in fetcher.pairs.
type pairKey struct {
	repository string
	image      imageKey
}
