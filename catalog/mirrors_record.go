package catalog

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Mirror actions as stored in mirrored_tags.action.
const (
	MirrorCopied  = "copied"  // copied to the destination by this run
	MirrorPresent = "present" // the destination already had the digest: nothing written
	MirrorDeleted = "deleted" // removed at the destination by --prune
	MirrorFailed  = "failed"  // the copy or deletion failed; reason says why
)

// MirrorRunSpec is what a mirror run was asked to do.
type MirrorRunSpec struct {
	Command, Destination, RepositoryGlob string
	RequireAccepted, DryRun              bool
}

// MirrorRunCounts are the totals a mirror run ends with.
type MirrorRunCounts struct {
	Copied, Present, Failed, Deleted int
}

// MirroredTag is one tag a mirror run acted on.
type MirroredTag struct {
	SourceRepository, Tag          string
	DestinationRepository, DestTag string
	Image                          string
	Action, Reason                 string
	At                             time.Time
	RunID                          int64
}

// BeginMirrorRun records the start of a mirror run and returns its id.
func (c *Catalog) BeginMirrorRun(ctx context.Context, spec MirrorRunSpec) (int64, error) {
	if c.write == nil {
		return 0, ErrReadOnly
	}
	var id int64
	err := c.write.QueryRowContext(ctx, c.numbered(`INSERT INTO mirror_runs (started_at, status, command, destination, repository_glob, require_accepted, dry_run)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`), c.timeArg(c.now()), RunRunning, spec.Command, spec.Destination,
		spec.RepositoryGlob, c.flag(spec.RequireAccepted), c.flag(spec.DryRun)).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record mirror run start: %w", err)
	}
	return id, nil
}

// numbered writes a query's ? placeholders as PostgreSQL's $N there, so
// that the catalog's rebinding, which turns booleans into SQLite's 0 and
// 1, leaves the native boolean columns of the mirror tables alone.
func (c *Catalog) numbered(query string) string {
	if !c.pg {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// flag is a boolean as this dialect's mirror columns store it.
func (c *Catalog) flag(b bool) any {
	if c.pg {
		return b
	}
	if b {
		return int64(1)
	}
	return int64(0)
}

// RecordMirrored records one tag a mirror run acted on. It commits at once,
// so that what an interrupted run copied is known to the next.
func (c *Catalog) RecordMirrored(ctx context.Context, runID int64, t MirroredTag) error {
	if c.write == nil {
		return ErrReadOnly
	}
	if _, err := c.write.ExecContext(ctx, `INSERT INTO mirrored_tags (run_id, source_repository, tag, destination_repository,
		destination_tag, image_name, action, reason, mirrored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		runID, t.SourceRepository, t.Tag, t.DestinationRepository, t.DestTag, t.Image, t.Action, t.Reason, c.timeArg(c.now())); err != nil {
		return fmt.Errorf("record mirrored %s:%s: %w", t.SourceRepository, t.Tag, err)
	}
	return nil
}

// FinishMirrorRun records how a mirror run ended.
func (c *Catalog) FinishMirrorRun(ctx context.Context, id int64, status string, n MirrorRunCounts) error {
	if c.write == nil {
		return ErrReadOnly
	}
	if _, err := c.write.ExecContext(ctx, `UPDATE mirror_runs SET finished_at = $1, status = $2, copied = $3, present = $4, failed = $5, deleted = $6
		WHERE id = $7`, c.timeArg(c.now()), status, n.Copied, n.Present, n.Failed, n.Deleted, id); err != nil {
		return fmt.Errorf("record end of mirror run %d: %w", id, err)
	}
	return nil
}

// MirrorLocations lists where an image was mirrored: the newest copied or
// present record per destination repository and tag that still names it
// (a later copy of another digest to the same place supersedes it).
func (c *Catalog) MirrorLocations(ctx context.Context, image string) ([]MirroredTag, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT m.source_repository, m.tag, m.destination_repository, m.destination_tag,
		       m.image_name, m.action, m.reason, m.mirrored_at, m.run_id
		  FROM mirrored_tags m
		 WHERE m.image_name = $1 AND m.action IN ('copied', 'present')
		   AND m.id = (SELECT max(x.id) FROM mirrored_tags x WHERE x.destination_repository = m.destination_repository
		               AND x.destination_tag = m.destination_tag AND x.action <> 'failed')
		 ORDER BY m.destination_repository, m.destination_tag`, image)
	if err != nil {
		return nil, fmt.Errorf("mirrors of %s: %w", image, err)
	}
	return scanMirrored(rows)
}

type rowsScanner interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}

func scanMirrored(rows rowsScanner) ([]MirroredTag, error) {
	defer rows.Close()
	var out []MirroredTag
	for rows.Next() {
		var t MirroredTag
		var at scanTime
		if err := rows.Scan(&t.SourceRepository, &t.Tag, &t.DestinationRepository, &t.DestTag, &t.Image, &t.Action, &t.Reason, &at, &t.RunID); err != nil {
			return nil, err
		}
		t.At = at.t
		out = append(out, t)
	}
	return out, rows.Err()
}
