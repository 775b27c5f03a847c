package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// lockKeyRuns is the run lock of a PostgreSQL catalog: a session-level
// advisory lock, held by a connection of its own for as long as the run
// lasts. A run that dies loses its connection, and with it the lock, as a
// flock dies with its process.
const lockKeyRuns int64 = 0x726769_0010

// lockKeyShard is shard index of count's own run lock.
func lockKeyShard(s Shard) int64 {
	return lockKeyRuns<<24 | int64(s.Count&0xfff)<<12 | int64(s.Index&0xfff)
}

// lockPostgres takes the run lock of a PostgreSQL catalog: lockKeyRuns
// exclusively for an unsharded run; shared, plus the shard's own key
// exclusively, for a shard.
func (l *RunLock) lockPostgres(db, command string, shard Shard) error {
	ctx := context.Background()
	conn, err := lockPostgres(ctx, db, command, lockKeyRuns, shard.Sharded())
	if err != nil {
		if shard.Sharded() && errors.Is(err, ErrLocked) {
			return fmt.Errorf("%w; shard %s waits for it to end", err, shard)
		}
		return err
	}
	l.pg = append(l.pg, conn)
	if !shard.Sharded() {
		return nil
	}
	own, err := lockPostgres(ctx, db, command, lockKeyShard(shard), false)
	if err != nil {
		l.Unlock()
		return fmt.Errorf("shard %s: %w", shard, err)
	}
	l.pg = append(l.pg, own)
	return nil
}

// lockPostgres takes an advisory run lock without waiting: exclusive, or
// shared (several holders, none exclusive).
func lockPostgres(ctx context.Context, db, command string, key int64, shared bool) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %v", RedactDB(db), redactErr(err, db))
	}
	host, _ := os.Hostname()
	cfg.RuntimeParams["application_name"] = truncate(fmt.Sprintf("regimport pid %d on %s: %s", os.Getpid(), host, command), 63)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %v", RedactDB(db), redactErr(err, db))
	}
	fn := "pg_try_advisory_lock"
	if shared {
		fn = "pg_try_advisory_lock_shared"
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT `+fn+`($1)`, key).Scan(&got); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("lock %s: %w", RedactDB(db), err)
	}
	if !got {
		holder := lockHolders(ctx, conn, key)
		conn.Close(ctx)
		if holder == "" {
			return nil, fmt.Errorf("%w (advisory lock %d on %s)", ErrLocked, key, RedactDB(db))
		}
		return nil, fmt.Errorf("%w: %s (advisory lock %d on %s)", ErrLocked, holder, key, RedactDB(db))
	}
	return conn, nil
}

// lockHolders says who holds an advisory lock, from the application_name
// each regimport sets on its lock connection.
func lockHolders(ctx context.Context, conn *pgx.Conn, key int64) string {
	rows, err := conn.Query(ctx, `SELECT a.application_name, a.backend_start FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND ((l.classid::bigint << 32) | l.objid::bigint) = $1 AND l.objsubid = 1
		ORDER BY a.backend_start`, key)
	if err != nil {
		return ""
	}
	defer rows.Close()
	var who []string
	for rows.Next() {
		var app string
		var since time.Time
		if rows.Scan(&app, &since) == nil {
			who = append(who, fmt.Sprintf("%s since %s", app, since.Local().Format(time.DateTime)))
		}
	}
	return strings.Join(who, "; ")
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// unlockPostgres ends the lock's connection, which releases the lock.
func unlockPostgres(conn *pgx.Conn) error {
	if conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Released on the server before Unlock returns: closing alone ends the
	// session a moment later, and a run started right after would be refused.
	_, unlockErr := conn.Exec(ctx, `SELECT pg_advisory_unlock_all()`)
	if err := conn.Close(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return unlockErr
}
