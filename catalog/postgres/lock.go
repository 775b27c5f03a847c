package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/regimport/regimport/catalog"
)

// lockKeyRuns is the run lock of a PostgreSQL catalog: a session-level
// advisory lock, held by a connection of its own for as long as the run
// lasts. A run that dies loses its connection, and with it the lock, as a
// flock dies with its process.
const lockKeyRuns int64 = 0x726769_0010

// pgLockKey names an advisory lock. PostgreSQL has two key spaces that
// never meet: one bigint (pg_locks.objsubid 1), used for the catalog-wide
// locks, and a pair of int4 (objsubid 2), used only for shards as (count,
// index). So every shard of every count has a key of its own: no masking,
// no collisions, whatever the count.
type pgLockKey struct {
	pair    bool
	key     int64 // pair == false
	hi, low int32 // pair == true
}

func (k pgLockKey) String() string {
	if k.pair {
		return fmt.Sprintf("(%d, %d)", k.hi, k.low)
	}
	return fmt.Sprintf("%d", k.key)
}

// args are the lock functions' arguments for the key.
func (k pgLockKey) args() []any {
	if k.pair {
		return []any{k.hi, k.low}
	}
	return []any{k.key}
}

// call is fn applied to the key: `SELECT fn($1)` or `SELECT fn($1, $2)`.
func (k pgLockKey) call(fn string) string {
	if k.pair {
		return `SELECT ` + fn + `($1::int4, $2::int4)`
	}
	return `SELECT ` + fn + `($1::bigint)`
}

// held matches the key's row in pg_locks: the bigint form is classid:objid
// with objsubid 1, the pair form classid, objid with objsubid 2.
func (k pgLockKey) held() (where string, args []any) {
	if k.pair {
		return `l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2`, []any{int64(uint32(k.hi)), int64(uint32(k.low))}
	}
	return `((l.classid::bigint << 32) | l.objid::bigint) = $1 AND l.objsubid = 1`, []any{k.key}
}

var runsKey = pgLockKey{key: lockKeyRuns}

// shardKey is shard index of count's own run lock, in the int4-pair space
// (a shard's Count and Index are validated to fit an int4).
func shardKey(s catalog.Shard) pgLockKey {
	return pgLockKey{pair: true, hi: int32(s.Count), low: int32(s.Index)}
}

// RunLock keeps two runs from writing the same part of a PostgreSQL
// catalog at once, as a flock keeps them off a SQLite file: advisory
// locks, lockKeyRuns exclusive for an unsharded run, or shared plus the
// shard's own key exclusive for a shard, each held by a connection of its
// own (see lockPostgres). A run that dies loses its connections, and with
// them its locks.
type RunLock struct {
	pg []*heldLock
}

// LockRuns takes the run lock of the PostgreSQL catalog db, for the whole
// catalog or for one shard of a sharded import, without waiting. command
// names the run in the lock connection's application_name, for
// catalog.ErrLocked to show.
func LockRuns(db, command string, shard catalog.Shard) (*RunLock, error) {
	l := &RunLock{}
	if err := l.lockPostgres(db, command, shard); err != nil {
		return nil, err
	}
	return l, nil
}

// Unlock releases the lock: it ends the lock connections.
func (l *RunLock) Unlock() error {
	if l == nil {
		return nil
	}
	var errs []error
	for i := len(l.pg) - 1; i >= 0; i-- {
		errs = append(errs, unlockPostgres(l.pg[i]))
	}
	l.pg = nil
	return errors.Join(errs...)
}

// lockPostgres takes the run lock: lockKeyRuns exclusively for an
// unsharded run; shared, plus the shard's own key exclusively, for a shard.
func (l *RunLock) lockPostgres(db, command string, shard catalog.Shard) error {
	ctx := context.Background()
	if shard.Sharded() && (shard.Count > math.MaxInt32 || shard.Index < 0 || shard.Index >= shard.Count) {
		return fmt.Errorf("lock %s: shard %s: index and count must be 0 <= index < count <= %d", catalog.RedactDB(db), shard, math.MaxInt32)
	}
	conn, err := lockPostgres(ctx, db, command, runsKey, shard.Sharded())
	if err != nil {
		if shard.Sharded() && errors.Is(err, catalog.ErrLocked) {
			return fmt.Errorf("%w; shard %s waits for it to end", err, shard)
		}
		return err
	}
	l.pg = append(l.pg, conn)
	if !shard.Sharded() {
		return nil
	}
	own, err := lockPostgres(ctx, db, command, shardKey(shard), false)
	if err != nil {
		l.Unlock()
		return fmt.Errorf("shard %s: %w", shard, err)
	}
	l.pg = append(l.pg, own)
	return nil
}

// lockPostgres takes an advisory run lock without waiting: exclusive, or
// shared (several holders, none exclusive).
func lockPostgres(ctx context.Context, db, command string, key pgLockKey, shared bool) (*heldLock, error) {
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %v", catalog.RedactDB(db), redactErr(err, db))
	}
	host, _ := os.Hostname()
	cfg.RuntimeParams["application_name"] = truncate(fmt.Sprintf("regimport pid %d on %s: %s", os.Getpid(), host, command), 63)
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %v", catalog.RedactDB(db), redactErr(err, db))
	}
	fn := "pg_try_advisory_lock"
	if shared {
		fn = "pg_try_advisory_lock_shared"
	}
	var got bool
	var pid int32
	if err := conn.QueryRow(ctx, key.call(fn)+`, pg_backend_pid()`, key.args()...).Scan(&got, &pid); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("lock %s: %w", catalog.RedactDB(db), err)
	}
	if !got {
		holder := lockHolders(ctx, conn, key)
		conn.Close(ctx)
		if holder == "" {
			return nil, fmt.Errorf("%w (advisory lock %s on %s)", catalog.ErrLocked, key, catalog.RedactDB(db))
		}
		return nil, fmt.Errorf("%w: %s (advisory lock %s on %s)", catalog.ErrLocked, holder, key, catalog.RedactDB(db))
	}
	return &heldLock{conn: conn, pid: pid, key: key, shared: shared}, nil
}

// heldLock is one advisory lock a run holds, on a connection of its own,
// with that connection's server process (its pid identifies the session
// in pg_locks).
type heldLock struct {
	conn   *pgx.Conn
	pid    int32
	key    pgLockKey
	shared bool
}

// lockHolders says who holds an advisory lock, from the application_name
// each regimport sets on its lock connection.
func lockHolders(ctx context.Context, conn *pgx.Conn, key pgLockKey) string {
	match, args := key.held()
	rows, err := conn.Query(ctx, `SELECT a.application_name, a.backend_start FROM pg_locks l
		JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND `+match+`
		ORDER BY a.backend_start`, args...)
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
func unlockPostgres(h *heldLock) error {
	if h == nil || h.conn == nil {
		return nil
	}
	conn := h.conn
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

// CheckHeld (sqlstore.LockChecker) verifies, inside a writer transaction, that every advisory
// lock of the run is still held by the session that took it. A writer
// calls it before each commit (see Catalog.GuardWrites): the lock lives on
// a connection of its own that sits idle for the whole run, and nothing
// else would notice that it is gone.
func (l *RunLock) CheckHeld(ctx context.Context, tx *sql.Tx) error {
	for _, h := range l.pg {
		match, args := h.key.held()
		mode := "ExclusiveLock"
		if h.shared {
			mode = "ShareLock"
		}
		args = append(args, h.pid, mode)
		n := len(args)
		var held bool
		err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM pg_locks l
			WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			  AND %s AND l.pid = $%d AND l.mode = $%d)`, match, n-1, n), args...).Scan(&held)
		if err != nil {
			return fmt.Errorf("check the run lock %s: %w", h.key, err)
		}
		if !held {
			return fmt.Errorf("%w: advisory lock %s of server process %d is no longer held (its connection ended); stopping so that two runs never write at once", catalog.ErrLockLost, h.key, h.pid)
		}
	}
	return nil
}
