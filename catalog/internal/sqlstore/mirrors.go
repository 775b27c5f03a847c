package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/regimport/regimport/catalog"
)

// The facts `regimport mirror` plans from, and the record of what mirror
// runs copied (tables mirror_runs and mirrored_tags, migration 0010). Times
// and flags are written and read as everywhere in the catalog: RFC 3339 text
// and Go booleans, which both databases store in their own types.

// MirrorSourceTags lists every current tag, by repository and tag.
func (c *Catalog) MirrorSourceTags(ctx context.Context) ([]MirrorSourceTag, error) {
	return mirrorSourceTags(ctx, c.read)
}

func mirrorSourceTags(ctx context.Context, q querier) ([]MirrorSourceTag, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.name, t.tag, t.image_name, i.manifest_media_type,
		       coalesce(e.created, t.updated_at), coalesce(e.run_id, 0),
		       coalesce(v.verdict, ''), coalesce(v.reason, ''), coalesce(`+instanceVerdicts("t.repository_id", "t.image_name")+`, '')
		  FROM tags t
		  JOIN repositories r ON r.id = t.repository_id
		  JOIN images i ON i.name = t.image_name
		  LEFT JOIN tag_events e ON e.id = (SELECT max(x.id) FROM tag_events x
		       WHERE x.repository_id = t.repository_id AND x.tag = t.tag AND x.event IN ('added', 'moved'))
		  LEFT JOIN image_verdicts v ON v.repository_id = t.repository_id AND v.image_name = t.image_name
		 ORDER BY r.name, t.tag`)
	if err != nil {
		return nil, fmt.Errorf("tags to mirror: %w", err)
	}
	defer rows.Close()
	var out []MirrorSourceTag
	for rows.Next() {
		var t MirrorSourceTag
		var changed string
		if err := rows.Scan(&t.Repository, &t.Tag, &t.Image, &t.MediaType, &changed, &t.ChangedRun, &t.Verdict, &t.VerdictReason, &t.Instances); err != nil {
			return nil, fmt.Errorf("tags to mirror: %w", err)
		}
		t.ChangedAt = parseTime(changed)
		out = append(out, t)
	}
	return out, rows.Err()
}

// MirrorRemovedTags lists the tags whose newest history event is a removal.
func (c *Catalog) MirrorRemovedTags(ctx context.Context) ([]MirrorRemovedTag, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT r.name, e.tag, e.image_name, coalesce(e.reason, ''), e.created, coalesce(e.run_id, 0)
		  FROM tag_events e JOIN repositories r ON r.id = e.repository_id
		 WHERE e.event = 'removed'
		   AND e.id = (SELECT max(x.id) FROM tag_events x WHERE x.repository_id = e.repository_id AND x.tag = e.tag)
		   AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = e.repository_id AND t.tag = e.tag)
		 ORDER BY r.name, e.tag`)
	if err != nil {
		return nil, fmt.Errorf("removed tags: %w", err)
	}
	defer rows.Close()
	var out []MirrorRemovedTag
	for rows.Next() {
		var t MirrorRemovedTag
		var at string
		if err := rows.Scan(&t.Repository, &t.Tag, &t.Previous, &t.Reason, &at, &t.RemovedRun); err != nil {
			return nil, fmt.Errorf("removed tags: %w", err)
		}
		t.RemovedAt = parseTime(at)
		t.Complete = t.Reason == ReasonNotListed || t.Reason == ReasonRepositoryRemoved
		out = append(out, t)
	}
	return out, rows.Err()
}

// RunStarted returns when an import run started, or ErrNotFound.
func (c *Catalog) RunStarted(ctx context.Context, id int64) (time.Time, error) {
	var s string
	err := c.read.QueryRowContext(ctx, `SELECT started_at FROM import_runs WHERE id = $1`, id).Scan(&s)
	if err == sql.ErrNoRows {
		return time.Time{}, fmt.Errorf("import run %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("import run %d: %w", id, err)
	}
	return parseTime(s), nil
}

// BeginMirrorRun records the start of a mirror run and returns its id.
func (c *Catalog) BeginMirrorRun(ctx context.Context, spec MirrorRunSpec) (int64, error) {
	if c.write == nil {
		return 0, ErrReadOnly
	}
	var id int64
	err := c.write.QueryRowContext(ctx, `INSERT INTO mirror_runs (started_at, status, command, destination, repository_glob, require_accepted, dry_run)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, c.timestamp(), RunRunning, spec.Command, spec.Destination,
		spec.RepositoryGlob, spec.RequireAccepted, spec.DryRun).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record mirror run start: %w", err)
	}
	return id, nil
}

// RecordMirrored records one tag a mirror run acted on. It commits at once,
// so that what an interrupted run copied is known to the next.
func (c *Catalog) RecordMirrored(ctx context.Context, runID int64, t MirroredTag) error {
	if c.write == nil {
		return ErrReadOnly
	}
	if _, err := c.write.ExecContext(ctx, `INSERT INTO mirrored_tags (run_id, source_repository, tag, destination_repository,
		destination_tag, image_name, action, reason, mirrored_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		runID, t.SourceRepository, t.Tag, t.DestinationRepository, t.DestTag, t.Image, t.Action, t.Reason, c.timestamp()); err != nil {
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
		WHERE id = $7`, c.timestamp(), status, n.Copied, n.Present, n.Failed, n.Deleted, id); err != nil {
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
		var at string
		if err := rows.Scan(&t.SourceRepository, &t.Tag, &t.DestinationRepository, &t.DestTag, &t.Image, &t.Action, &t.Reason, &at, &t.RunID); err != nil {
			return nil, err
		}
		t.At = parseTime(at)
		out = append(out, t)
	}
	return out, rows.Err()
}

// MirrorStatus compares every destination's newest mirror run with the
// current tags in its scope. Destinations come in name order.
func (c *Catalog) MirrorStatus(ctx context.Context, repositoryGlob string) ([]MirrorDestinationStatus, error) {
	return mirrorStatus(ctx, c.read, repositoryGlob)
}

// MirrorStatusIn is MirrorStatus as the snapshot tx sees it (the report's).
func (c *Catalog) MirrorStatusIn(ctx context.Context, tx *sql.Tx, repositoryGlob string) ([]MirrorDestinationStatus, error) {
	return mirrorStatus(ctx, tx, repositoryGlob)
}

func mirrorStatus(ctx context.Context, q querier, repositoryGlob string) ([]MirrorDestinationStatus, error) {
	rows, err := q.QueryContext(ctx, `SELECT r.destination, r.id, r.status, r.started_at, r.repository_glob, r.require_accepted
		  FROM mirror_runs r
		 WHERE r.id = (SELECT max(x.id) FROM mirror_runs x WHERE x.destination = r.destination AND NOT x.dry_run)
		 ORDER BY r.destination`)
	if err != nil {
		return nil, fmt.Errorf("mirror destinations: %w", err)
	}
	var dests []MirrorDestinationStatus
	for rows.Next() {
		var d MirrorDestinationStatus
		var at string
		if err := rows.Scan(&d.Destination, &d.LastRun, &d.LastRunStatus, &at, &d.RepositoryGlob, &d.RequireAccepted); err != nil {
			rows.Close()
			return nil, fmt.Errorf("mirror destinations: %w", err)
		}
		d.LastRunAt = parseTime(at)
		dests = append(dests, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(dests) == 0 {
		return dests, err
	}
	tags, err := mirrorSourceTags(ctx, q)
	if err != nil {
		return nil, err
	}
	report, err := catalog.MatchRepositories(repositoryGlob)
	if err != nil {
		return nil, err
	}
	for i := range dests {
		d := &dests[i]
		scope, err := catalog.MatchRepositories(d.RepositoryGlob)
		if err != nil {
			return nil, err
		}
		last, err := lastMirrored(ctx, q, d.Destination)
		if err != nil {
			return nil, err
		}
		d.Behind, d.HeldBack = []MirrorLag{}, []MirrorLag{}
		for _, t := range tags {
			if !scope(t.Repository) || !report(t.Repository) {
				continue
			}
			if d.RequireAccepted && !t.PullAccepted() {
				v, why := t.PullVerdict()
				d.HeldBack = append(d.HeldBack, MirrorLag{Repository: t.Repository, Tag: t.Tag, Image: t.Image, Reason: joinReason(string(v), why)})
				continue
			}
			got := last[t.Repository+":"+t.Tag]
			switch {
			case got == t.Image:
				d.InSync++
			case got == "":
				d.Behind = append(d.Behind, MirrorLag{Repository: t.Repository, Tag: t.Tag, Image: t.Image, Reason: "never copied"})
			default:
				d.Behind = append(d.Behind, MirrorLag{Repository: t.Repository, Tag: t.Tag, Image: t.Image, Mirrored: got, Reason: "moved upstream since the last copy"})
			}
		}
	}
	return dests, nil
}

// LastMirrored maps each source repository:tag to the digest the catalog
// last recorded at a destination (copied, found present, or deleted).
func (c *Catalog) LastMirrored(ctx context.Context, destination string) (map[string]string, error) {
	return lastMirrored(ctx, c.read, destination)
}

// lastMirrored maps source repository:tag to the digest a destination
// last got for it (copied or found present).
func lastMirrored(ctx context.Context, q querier, destination string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.source_repository, m.tag, m.image_name FROM mirrored_tags m
		  JOIN mirror_runs r ON r.id = m.run_id
		 WHERE r.destination = $1 AND m.action IN ('copied', 'present', 'deleted')
		   AND m.id = (SELECT max(x.id) FROM mirrored_tags x JOIN mirror_runs y ON y.id = x.run_id
		               WHERE y.destination = r.destination AND x.source_repository = m.source_repository AND x.tag = m.tag
		                 AND x.action IN ('copied', 'present', 'deleted'))`, destination)
	if err != nil {
		return nil, fmt.Errorf("mirrored to %s: %w", destination, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var repo, tag, image string
		if err := rows.Scan(&repo, &tag, &image); err != nil {
			return nil, err
		}
		out[repo+":"+tag] = image
	}
	return out, rows.Err()
}

func joinReason(verdict, reason string) string {
	if reason == "" {
		return verdict
	}
	return verdict + ": " + reason
}
