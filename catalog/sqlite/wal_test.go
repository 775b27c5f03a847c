package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
)

// The writer checkpoints as it goes: a long run of commits reuses a WAL of
// about walCheckpointPages pages instead of growing it to the size of
// everything written, which the catalog's close would then have to copy
// into the file while nothing else runs.
func TestWALIsCheckpointedWhileWriting(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "catalog.db")
	c, err := open(ctx, file, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const images = 300 // a commit each: about 60 MB of WAL frames in all
	ops := make([]any, images)
	for i := range ops {
		ops[i] = testimages.Image(i + 1)
	}
	testimages.PutWith(t, c, catalog.WriterOptions{BatchSize: 1}, ops...)
	wal, err := os.Stat(file + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	limit := int64(walCheckpointPages+walCheckpointPages/2) * pageSize
	if wal.Size() > limit || db.Size() < 2*pageSize {
		t.Errorf("after %d commits the WAL is %d bytes (at most %d expected) and the file %d bytes: no checkpoint while writing",
			images, wal.Size(), limit, db.Size())
	}
}
