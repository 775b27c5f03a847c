package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
	"github.com/regimport/regimport/internal/dbtest"
)

// catalog.Shard locks on PostgreSQL have a key per (index, count) whatever the
// count: shard 0 of 4097 and shard 0 of 1 are different shards (their
// keys collided when counts were masked to 12 bits), and the same shard
// twice is still refused.
func TestPostgresShardKeysDoNotCollide(t *testing.T) {
	db := dbtest.NewPostgres(t)
	if _, err := Open(context.Background(), db, catalog.Options{}); err != nil {
		t.Fatal(err)
	}
	big, err := LockRuns(db, "import --shard 0/4097", catalog.Shard{Index: 0, Count: 4097})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Unlock()
	one, err := LockRuns(db, "import --shard 0/1", catalog.Shard{Index: 0, Count: 1})
	if err != nil {
		t.Fatalf("shard 0/1 beside shard 0/4097: %v", err)
	}
	defer one.Unlock()
	for _, sh := range []catalog.Shard{{Index: 4096, Count: 8193}, {Index: 4097, Count: 4098}} {
		l, err := LockRuns(db, "import", sh)
		if err != nil {
			t.Errorf("shard %s beside 0/4097 and 0/1: %v", sh, err)
			continue
		}
		l.Unlock()
	}
	if _, err := LockRuns(db, "again", catalog.Shard{Index: 0, Count: 4097}); !errors.Is(err, catalog.ErrLocked) || !strings.Contains(err.Error(), "import --shard 0/4097") {
		t.Errorf("shard 0/4097 twice: %v; want catalog.ErrLocked naming the holder", err)
	}
	if _, err := LockRuns(db, "import", catalog.Shard{Index: 0, Count: 1 << 31}); err == nil || errors.Is(err, catalog.ErrLocked) {
		t.Errorf("a shard count over int4: %v; want a usage error", err)
	}
}

// A PostgreSQL run lock lives on an idle connection of its own. When the
// server ends that connection (here pg_terminate_backend, as
// idle_session_timeout or a failover would), the next commit of the
// run's writer fails with catalog.ErrLockLost instead of writing beside whoever
// takes the lock next; a run whose lock is intact commits as before.
func TestPostgresLostRunLockStopsTheWriter(t *testing.T) {
	ctx := context.Background()
	db := dbtest.NewPostgres(t)
	for _, shard := range []catalog.Shard{{}, {Index: 1, Count: 2}} {
		lock, err := LockRuns(db, "import", shard)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(ctx, db, catalog.Options{RunLock: lock})
		if err != nil {
			t.Fatal(err)
		}
		w, err := c.NewWriter(ctx, catalog.WriterOptions{BatchSize: 1})
		if err != nil {
			t.Fatal(err)
		}
		put := func(i int) error {
			errc := make(chan error, 1)
			if err := w.PutImage(ctx, testimages.Image(i), func(_ catalog.Outcome, err error) { errc <- err }); err != nil {
				return err
			}
			return <-errc
		}
		if err := put(1 + 10*shard.Index); err != nil {
			t.Fatalf("shard %q: a write while the lock is held: %v", shard, err)
		}
		// End the session of the run's last lock (the shard's own, or the
		// catalog-wide one), from outside.
		admin, err := pgx.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		last := lock.pg[len(lock.pg)-1]
		if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1)`, last.pid); err != nil {
			t.Fatal(err)
		}
		// pg_terminate_backend only signals: the lock goes when the
		// process has ended, which the next commit must find.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var alive bool
			if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)`, last.pid).Scan(&alive); err != nil {
				t.Fatal(err)
			}
			if !alive {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("server process %d still runs 10 s after pg_terminate_backend", last.pid)
			}
		}
		admin.Close(ctx)
		err = put(2 + 10*shard.Index)
		if !errors.Is(err, catalog.ErrLockLost) || !strings.Contains(err.Error(), "no longer held") {
			t.Errorf("shard %q: a write after the lock's connection ended: %v; want catalog.ErrLockLost", shard, err)
		}
		if err := w.Close(); !errors.Is(err, catalog.ErrLockLost) {
			t.Errorf("shard %q: Writer.Close: %v; want the lost lock", shard, err)
		}
		if ok, err := c.HasImage(ctx, testimages.Image(2+10*shard.Index).Image.Name); err != nil || ok {
			t.Errorf("shard %q: the image written after the lock was lost is in the catalog (%v, %v)", shard, ok, err)
		}
		c.Close()
		lock.Unlock()
	}
}
