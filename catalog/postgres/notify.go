package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/regimport/regimport/catalog"
)

// changesChannel is the PostgreSQL notification channel a writer signals
// when its transaction recorded changes. The notification carries nothing:
// listeners re-read the change log after the last resourceVersion they
// handled, which is what makes a lost notification harmless.
const changesChannel = "regimport_changes"

// notifyChanges queues a notification on changesChannel inside a writer's
// transaction. PostgreSQL delivers it when, and only if, the transaction
// commits, so a listener woken by it sees the changes.
func notifyChanges(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+changesChannel+`', '')`); err != nil {
		return fmt.Errorf("notify listeners of the change log: %w", err)
	}
	return nil
}

// ChangeFeed wakes readers of the change log when a writer in any process
// commits changes to a PostgreSQL catalog. It holds one connection that
// LISTENs; when that connection is lost it wakes everyone (notifications
// sent meanwhile are lost, but readers go by resourceVersion, not by
// notification) and reconnects with a growing pause.
type ChangeFeed struct {
	mu   sync.Mutex
	wake chan struct{} // closed and replaced at each notification
	done chan struct{} // closed when the listening goroutine ends
}

// Listener reconnection pauses.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 30 * time.Second
)

// ListenForChanges connects to the PostgreSQL catalog db and listens for
// committed changes until ctx ends. The first connection must succeed;
// later losses are logged and retried. SQLite catalogs have no
// notifications: their readers poll, and this returns an error for them.
func ListenForChanges(ctx context.Context, db string, log *slog.Logger) (*ChangeFeed, error) {
	if !catalog.IsPostgres(db) {
		return nil, fmt.Errorf("listen for changes: %s is a SQLite catalog, which has no notifications", db)
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return nil, fmt.Errorf("listen for changes on %s: %v", catalog.RedactDB(db), redactErr(err, db))
	}
	host, _ := os.Hostname()
	cfg.RuntimeParams["application_name"] = truncate(fmt.Sprintf("regimport change listener pid %d on %s", os.Getpid(), host), 63)
	conn, err := listen(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("listen for changes on %s: %v", catalog.RedactDB(db), redactErr(err, db))
	}
	f := &ChangeFeed{wake: make(chan struct{}), done: make(chan struct{})}
	go f.run(ctx, db, cfg, conn, log.With("db", catalog.RedactDB(db)))
	return f, nil
}

// Changed returns a channel that is closed at the next notification (or
// connection loss). Take it before reading the change log, then wait on
// it: a change committed after the read closes it.
func (f *ChangeFeed) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.wake
}

// Done is closed when the feed has stopped (its context ended).
func (f *ChangeFeed) Done() <-chan struct{} { return f.done }

func (f *ChangeFeed) signal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *ChangeFeed) run(ctx context.Context, db string, cfg *pgx.ConnConfig, conn *pgx.Conn, log *slog.Logger) {
	defer close(f.done)
	pause := listenRetryMin
	for {
		for conn != nil {
			_, err := conn.WaitForNotification(ctx)
			if err != nil {
				conn.Close(context.WithoutCancel(ctx))
				conn = nil
				if ctx.Err() != nil {
					return
				}
				log.Warn("lost the connection listening for catalog changes; watches poll until it is back", "err", redactErr(err, db))
			}
			pause = listenRetryMin
			f.signal() // a notification, or a loss after which some may be missed
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		var err error
		if conn, err = listen(ctx, cfg); err != nil {
			if ctx.Err() != nil {
				return
			}
			pause = min(2*pause, listenRetryMax)
			log.Warn("reconnecting to listen for catalog changes", "err", redactErr(err, db), "retry_in", pause)
			continue
		}
		log.Info("listening for catalog changes again")
		f.signal() // changes committed while disconnected sent no notice we heard
	}
}

// listen opens a connection and LISTENs on changesChannel.
func listen(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(cctx, `LISTEN `+changesChannel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}
