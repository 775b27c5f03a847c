package importer

import (
	"hash/fnv"

	"github.com/regimport/regimport/catalog"
)

// ShardOf is the shard, 0 to count-1, that imports a repository in a
// sharded import: FNV-1a (64-bit) of its normalized name, "host/path" as
// reference.Named.Name spells it (docker.io/library/nginx for nginx),
// modulo count. Every process of every release must agree on it, or two
// shards would take one repository and none another: do not change it.
func ShardOf(repository string, count int) int {
	h := fnv.New64a()
	h.Write([]byte(repository))
	return int(h.Sum64() % uint64(count))
}

// inShard reports whether a repository (or, for an input that does not
// parse, the input as written: exactly one shard then reports it) falls
// to this run's shard. An unsharded run takes everything.
func inShard(shard catalog.Shard, name string) bool {
	return !shard.Sharded() || ShardOf(name, shard.Count) == shard.Index
}
