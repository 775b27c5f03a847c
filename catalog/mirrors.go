package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The facts `regimport mirror` plans from, and the record of what mirror
// runs copied (tables mirror_runs and mirrored_tags, migration 0010). Times
// are TEXT (RFC 3339) in SQLite and timestamptz in PostgreSQL; flags INTEGER
// 0/1 and boolean: timeArg and scanTime bridge the two.

// MirrorSourceTag is a current tag as a mirror plan needs it: where it
// points, when it last changed, and its repository's verdict on the image.
type MirrorSourceTag struct {
	Repository, Tag, Image string
	MediaType              string
	// ChangedAt and ChangedRun are those of the tag's newest history event
	// (added or moved); ChangedRun is 0 when no import run recorded it.
	ChangedAt  time.Time
	ChangedRun int64
	// Verdict and VerdictReason are the (repository, image) pair's stored
	// verdict; "" when never evaluated.
	Verdict       Verdict
	VerdictReason string
	// Instances are a list's packed instance verdicts (pullverdict.go).
	Instances string
}

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

// MirrorRemovedTag is a tag the catalog saw removed from its registry and
// that is not current again.
type MirrorRemovedTag struct {
	Repository, Tag string
	Previous        string // the digest it pointed at
	Reason          string
	RemovedAt       time.Time
	RemovedRun      int64
	// Complete: the removal was recorded from a complete listing (a whole
	// tag list, or a whole /v2/_catalog), not from a single 404.
	Complete bool
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

// timeArg is a time as this dialect's mirror columns store it.
func (c *Catalog) timeArg(t time.Time) any {
	if c.pg {
		return t.UTC()
	}
	return formatTime(t)
}

// scanTime reads a time column of either dialect: TEXT or timestamptz.
type scanTime struct{ t time.Time }

func (s *scanTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		s.t = time.Time{}
	case time.Time:
		s.t = x.UTC()
	case string:
		s.t = parseTime(x)
	case []byte:
		s.t = parseTime(string(x))
	default:
		return fmt.Errorf("time column: unexpected %T", v)
	}
	return nil
}
