package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
)

// The writer's connection, after writing, has the page cache bounded at
// writerCacheKiB (the driver applies the DSN's _cache_size), and that bound
// stays small: the cache fills up to it as the catalog grows, so it is
// memory an import holds in proportion to its size up to there.
func TestWriterPageCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	c, err := open(ctx, filepath.Join(t.TempDir(), "c.db"), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var recs []any
	for i := range 300 {
		recs = append(recs, testimages.Image(i))
	}
	testimages.Put(t, c, recs...)
	var size int64
	if err := c.WritePool().QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	if size != -writerCacheKiB {
		t.Errorf("writer cache_size %d, want %d (KiB)", size, -writerCacheKiB)
	}
	if writerCacheKiB > 8<<10 {
		t.Errorf("writer cache %d KiB: over 8 MiB, an import's peak memory grows with its tag count again", writerCacheKiB)
	}
}
