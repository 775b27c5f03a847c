package cli

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/regimport/regimport/internal/dbtest"
)

// TestServeWatchWakesOnNotice: on PostgreSQL a watch hears of a commit by
// LISTEN/NOTIFY, well before its next poll (30 s here), and still hears of
// one committed around the loss of the listening connection: the feed wakes
// watches when it loses the connection and again when it is back, and they
// read the change log after their last resourceVersion. The bound of 5 s is
// a correctness check, not a measurement.
func TestServeWatchWakesOnNotice(t *testing.T) {
	db := dbtest.NewPostgres(t)
	serveTestCatalog(t, db, 0, 3)
	base, _, stderr := startServe(t, "--db", db, "--watch-poll-interval", "30s")
	from := rvOf(t, getImageList(t, base, nil).Metadata.ResourceVersion)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	events := watchEvents(t, ctx, base, from)
	time.Sleep(300 * time.Millisecond) // the watch has read the log and waits

	expect := func(i int, what string) {
		t.Helper()
		want := "ADDED " + serveTestImage(i).Image.Name + " "
		select {
		case ev := <-events:
			if !strings.HasPrefix(ev, want) {
				t.Fatalf("%s: event %q, want %q...", what, ev, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no event within 5s (the watch polls every 30s); serve said: %s", what, stderr.String())
		}
	}
	started := time.Now()
	serveTestCatalog(t, db, 3, 4)
	expect(3, "a commit while listening")
	t.Logf("event %s after the commit began", time.Since(started))

	admin, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	var killed int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE 'regimport change listener%'`).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminate serve's listening connection: %d terminated, %v", killed, err)
	}
	serveTestCatalog(t, db, 4, 5)
	expect(4, "a commit around the loss of the listening connection")
	time.Sleep(500 * time.Millisecond) // reconnected by now (first retry after 100ms)
	serveTestCatalog(t, db, 5, 6)
	expect(5, "a commit after reconnecting")
	if !strings.Contains(stderr.String(), "lost the connection listening for catalog changes") {
		t.Errorf("serve did not log the lost connection: %s", stderr.String())
	}
}
