package catalog

import "fmt"

// Shard says which part of a sharded import a run takes: shard Index
// (0-based) of Count, in the sharded run named Group. The zero value is an
// unsharded run, which takes the whole work and the catalog-wide run lock.
type Shard struct {
	Index int    `json:"index"`
	Count int    `json:"count"`
	Group string `json:"group"`
}

// Sharded reports whether the run is one shard of several (Count > 0;
// --shard 0/1 is a sharded run of one shard).
func (s Shard) Sharded() bool { return s.Count > 0 }

// String is "I/N" as the --shard flag takes it; "" when unsharded.
func (s Shard) String() string {
	if !s.Sharded() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}
