package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3" // a real SQLite pool for the cache
)

// A statement prepared in the background must not outlive the cache's
// close: one that did would hold a connection to the catalog file after
// Catalog.Close returned (make test once failed to delete a test's
// directory because such a connection created the -shm file in it).
func TestStmtCacheCloseLeavesNoBackgroundPrepare(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	s := newStmtCache(db, false)
	// The pool's one connection is held, as txQuery's caller holds one:
	// the background prepare waits for it.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.prepareLater(`SELECT x FROM t`)
	closed := make(chan struct{})
	go func() {
		s.close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close waited for a prepare that waits for a connection held elsewhere")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Had the prepare gone on, it would now take the free connection.
	time.Sleep(200 * time.Millisecond)
	s.mu.Lock()
	n := len(s.m)
	s.mu.Unlock()
	if n != 0 || db.Stats().InUse != 0 {
		t.Errorf("after close: %d statements cached, %d connections in use; want none", n, db.Stats().InUse)
	}
	// A prepare asked for after close starts nothing.
	s.prepareLater(`SELECT x FROM t WHERE x = 1`)
	if _, err := s.get(ctx, `SELECT x FROM t WHERE x = 2`); err == nil {
		t.Error("get after close prepared a statement")
	}
}
