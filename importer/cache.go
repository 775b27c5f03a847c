package importer

import "sync"

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
