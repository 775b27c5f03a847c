package catalogtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
)

// A shard holds the catalog-wide lock shared and its own shard's lock
// exclusively: two different shards run together, a second copy of one
// shard is refused naming the first, and neither an unsharded run nor a
// shard gets in while the other kind holds the catalog.
func (s Suite) ShardLocks(t *testing.T) {
	s.sqliteOnly(t, "lock files beside the SQLite file (PostgreSQL's advisory locks: RunLockNamesItsHolder and package catalog's lock tests)")
	path := filepath.Join(t.TempDir(), "catalog.db")
	lock := func(command string, shard catalog.Shard) (catalog.RunLock, error) {
		return catalogdb.LockRuns(path, command, shard)
	}
	// A run killed before its Unlock left its holder in the file.
	if err := os.WriteFile(path+".lock", []byte(`{"pid":99999,"host":"gone","command":"killed run"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s0, err := lock("import --shard 0/3", catalog.Shard{Index: 0, Count: 3, Group: "g"})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := lock("import --shard 1/3", catalog.Shard{Index: 1, Count: 3, Group: "g"})
	if err != nil {
		t.Fatalf("a second, different shard: %v", err)
	}
	_, err = lock("import --shard 1/3 again", catalog.Shard{Index: 1, Count: 3, Group: "g"})
	if !errors.Is(err, catalog.ErrLocked) || !strings.Contains(err.Error(), "(import --shard 1/3)") || !strings.Contains(err.Error(), "shard-1-of-3") {
		t.Errorf("the same shard twice: %v; want ErrLocked naming the first holder and its lock file", err)
	}
	_, err = lock("import --all-tags", catalog.Shard{})
	if !errors.Is(err, catalog.ErrLocked) || !strings.Contains(err.Error(), "import --shard 0/3") || !strings.Contains(err.Error(), "import --shard 1/3") {
		t.Errorf("an unsharded run while shards run: %v; want ErrLocked naming both shards", err)
	}
	if err != nil && strings.Contains(err.Error(), "killed run") {
		t.Errorf("an unsharded run refused by shards blames a stale holder: %v", err)
	}
	if err := s0.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := s1.Unlock(); err != nil {
		t.Fatal(err)
	}
	whole, err := lock("import --all-tags", catalog.Shard{})
	if err != nil {
		t.Fatalf("an unsharded run once the shards ended: %v", err)
	}
	_, err = lock("import --shard 2/3", catalog.Shard{Index: 2, Count: 3, Group: "g"})
	if !errors.Is(err, catalog.ErrLocked) || !strings.Contains(err.Error(), "(import --all-tags)") {
		t.Errorf("a shard while an unsharded run holds the catalog: %v", err)
	}
	whole.Unlock()
	s2, err := lock("import --shard 2/3", catalog.Shard{Index: 2, Count: 3, Group: "g"})
	if err != nil {
		t.Fatalf("a shard after the unsharded run ended: %v", err)
	}
	s2.Unlock()
}

// BeginRun records the shard and Runs reads it back; an unsharded run
// has none.
func (s Suite) RunsRecordTheirShard(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	want := []catalog.Shard{{}, {Index: 2, Count: 3, Group: "nightly-2026-11-30"}}
	for _, sh := range want {
		if _, err := c.BeginRun(ctx, "import", sh); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := c.Runs(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []catalog.Shard
	for i := len(runs) - 1; i >= 0; i-- { // newest first
		got = append(got, runs[i].Shard)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("runs' shards %+v, want %+v", got, want)
	}
	if want[1].String() != "2/3" || want[0].String() != "" {
		t.Errorf("String: %q %q", want[1], want[0])
	}
}
