package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
	"github.com/regimport/regimport/internal/dbtest"
)

// pollerSkips plays two writers in two processes (two write pools) against a
// poller that reads the change log the way a watch does: take the newest
// resourceVersion, read the changes after its cursor, move the cursor to
// the newest. Writer 1 takes its resourceVersion first but commits last;
// writer 2 is started while writer 1 is still open. It returns the names
// the poller never saw, and whether writer 2 committed before writer 1.
func pollerSkips(t *testing.T, w1, w2 *sql.DB, reader catalog.Catalog, begin func(*sql.DB) (*sql.Tx, error)) (missed []string, overtook bool) {
	t.Helper()
	ctx := context.Background()
	insert := func(tx *sql.Tx, name string) int64 {
		var rv int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO changes (resource, name, event, changed_at) VALUES ('images', $1, 'ADDED', $2) RETURNING resource_version`,
			name, time.Now().UTC().Format(time.RFC3339Nano)).Scan(&rv); err != nil {
			t.Fatal(err)
		}
		return rv
	}
	cursor, err := reader.ResourceVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	poll := func() {
		current, err := reader.ResourceVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		changes, err := reader.Changes(ctx, "images", cursor, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, ch := range changes {
			seen[ch.Name] = true
			cursor = ch.ResourceVersion
		}
		cursor = max(cursor, current)
	}

	tx1, err := begin(w1)
	if err != nil {
		t.Fatal(err)
	}
	rv1 := insert(tx1, "first")
	done2 := make(chan int64, 1)
	go func() {
		tx2, err := begin(w2)
		if err != nil {
			t.Error(err)
			done2 <- 0
			return
		}
		rv2 := insert(tx2, "second")
		if err := tx2.Commit(); err != nil {
			t.Error(err)
		}
		done2 <- rv2
	}()
	var rv2 int64
	select {
	case rv2 = <-done2:
		overtook = true
	case <-time.After(500 * time.Millisecond):
	}
	poll()
	if err := tx1.Commit(); err != nil {
		t.Fatal(err)
	}
	if !overtook {
		rv2 = <-done2
	}
	poll()
	if overtook && rv2 < rv1 {
		t.Fatalf("writer 2 took resourceVersion %d before writer 1's %d: the scenario needs the other order", rv2, rv1)
	}
	for _, n := range []string{"first", "second"} {
		if !seen[n] {
			missed = append(missed, n)
		}
	}
	return missed, overtook
}

// TestWriteLockKeepsPollersWhole: on PostgreSQL, writers of several
// processes commit one at a time (Dialect.LockWrites's advisory lock), so a
// poller of "changes after N" never moves past a resourceVersion that is
// still to commit. The same scenario without the lock shows the skip the
// lock prevents: it is what this test would catch if the lock went.
func TestWriteLockKeepsPollersWhole(t *testing.T) {
	db := dbtest.NewPostgres(t)
	ctx := context.Background()
	created, err := Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	created.Close()
	writer := func() *sql.DB {
		p, err := connect(ctx, db, false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Read.Close(); p.Write.Close() })
		return p.Write
	}
	w1, w2 := writer(), writer()
	reader, err := Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })

	// As the catalog's writer begins a transaction (sqlstore's beginWrite).
	locked := func(w *sql.DB) (*sql.Tx, error) {
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			return nil, err
		}
		if err := (Dialect{}).LockWrites(ctx, tx); err != nil {
			tx.Rollback()
			return nil, err
		}
		return tx, nil
	}
	missed, overtook := pollerSkips(t, w1, w2, reader, locked)
	if overtook {
		t.Error("with the write lock, writer 2 committed while writer 1 was still open")
	}
	if len(missed) > 0 {
		t.Errorf("with the write lock, the poller missed %v", missed)
	}

	unlocked := func(w *sql.DB) (*sql.Tx, error) { return w.BeginTx(ctx, nil) }
	missed, overtook = pollerSkips(t, w1, w2, reader, unlocked)
	if !overtook || len(missed) != 1 || missed[0] != "first" {
		t.Errorf("without the write lock the poller should miss the late commit of the smaller resourceVersion; overtook %v, missed %v", overtook, missed)
	}
}

// TestChangeFeedWakesOnCommit: a writer's commit in one process wakes a
// ChangeFeed listening in another, a batch that records no change does
// not, and after the listening connection is killed the feed wakes its
// readers, reconnects and hears the next commit.
func TestChangeFeedWakesOnCommit(t *testing.T) {
	db := dbtest.NewPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	writer, err := Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	feed, err := ListenForChanges(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	woken := func(ch <-chan struct{}, within time.Duration) bool {
		select {
		case <-ch:
			return true
		case <-time.After(within):
			return false
		}
	}

	notice := feed.Changed()
	testimages.Put(t, writer, testimages.Image(1))
	if !woken(notice, 5*time.Second) {
		t.Fatal("a committed image did not wake the feed within 5s")
	}

	notice = feed.Changed()
	testimages.Put(t, writer, testimages.Image(1)) // unchanged: no change recorded
	if woken(notice, 500*time.Millisecond) {
		t.Error("a batch that recorded no change woke the feed")
	}

	admin, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	notice = feed.Changed()
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE 'regimport change listener%'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate the listener's connection: %d terminated, %v", killed, err)
	}
	if !woken(notice, 5*time.Second) {
		t.Fatal("losing the listening connection did not wake the feed's readers")
	}
	// Once reconnected (it wakes its readers again), commits are heard again.
	// The listener's last statement is its LISTEN: wait for a new one.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var listening int
		if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
			AND application_name LIKE 'regimport change listener%' AND query LIKE 'LISTEN%'`).Scan(&listening); err != nil {
			t.Fatal(err)
		}
		if listening == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the feed did not reconnect within 10s of losing its connection")
		}
	}
	time.Sleep(200 * time.Millisecond) // past the wake-up that follows reconnection
	notice = feed.Changed()
	testimages.Put(t, writer, testimages.Image(2))
	if !woken(notice, 5*time.Second) {
		t.Fatal("after reconnecting, a commit did not wake the feed within 5s")
	}
	cancel()
	if !woken(feed.Done(), 5*time.Second) {
		t.Error("the feed did not stop when its context ended")
	}
}
