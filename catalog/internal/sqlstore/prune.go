package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// unreferencedQuery lists unreferenced images with the times their own
// tags, and the tags of lists holding them, last moved away from them.
// Each step is one pass (a window over each tag's events, grouped joins),
// so the query grows linearly with the catalog on both databases.
func unreferencedQuery(d Dialect) string {
	return `WITH RECURSIVE
	referenced(name) AS (
		SELECT image_name FROM tags
		UNION SELECT image FROM image_stream_tag_events
		UNION SELECT m.digest FROM image_manifests m JOIN referenced r ON r.name = m.list_name),
	departures AS (SELECT image_name, event,
		lead(created) OVER (PARTITION BY repository_id, tag ORDER BY id) AS left_at FROM tag_events),
	departed AS (SELECT image_name, max(` + d.EpochMillis("left_at") + `) AS at FROM departures
		WHERE event != 'removed' AND left_at IS NOT NULL GROUP BY image_name),
	list_departed AS (SELECT m.digest AS name, max(dl.at) AS at FROM image_manifests m
		JOIN departed dl ON dl.image_name = m.list_name GROUP BY m.digest)
SELECT i.name, i.docker_image_reference, i.size, ` + d.EpochMillis("i.creation_timestamp") + `, d.at, ld.at
FROM images i LEFT JOIN departed d ON d.image_name = i.name LEFT JOIN list_departed ld ON ld.name = i.name
WHERE NOT EXISTS (SELECT 1 FROM referenced r WHERE r.name = i.name)`
}

// UnreferencedImages lists the images nothing references, by name.
func (c *Catalog) UnreferencedImages(ctx context.Context) ([]UnreferencedImage, error) {
	return unreferenced(ctx, c.read, c.d)
}

func unreferenced(ctx context.Context, q querier, d Dialect) ([]UnreferencedImage, error) {
	return unreferencedWhere(ctx, q, d, "")
}

// unreferencedWhere is unreferenced with an extra condition on images i.
func unreferencedWhere(ctx context.Context, q querier, d Dialect, cond string) ([]UnreferencedImage, error) {
	query := unreferencedQuery(d)
	if cond != "" {
		query += " AND " + cond
	}
	rows, err := q.QueryContext(ctx, query+" ORDER BY i.name")
	if err != nil {
		return nil, fmt.Errorf("unreferenced images: %w", err)
	}
	defer rows.Close()
	var out []UnreferencedImage
	for rows.Next() {
		var u UnreferencedImage
		var stored float64
		var own, list *float64
		if err := rows.Scan(&u.Digest, &u.DockerImageReference, &u.Size, &stored, &own, &list); err != nil {
			return nil, fmt.Errorf("unreferenced images: %w", err)
		}
		since := stored
		for _, at := range []*float64{own, list} {
			if at != nil && *at > since {
				since = *at
			}
		}
		u.Since = time.UnixMilli(int64(since + 0.5)).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}

// Prune queues the deletion of images unreferenced since before cutoff,
// through the single writer, in one transaction: each gets a DELETED
// change (a watch sees it), its layers, list entries and signatures go
// with it, and configs no image uses any more are dropped. Tag history
// stays. done gets the images deleted.
func (w *Writer) Prune(ctx context.Context, cutoff time.Time, done func([]UnreferencedImage, error)) error {
	var pruned []UnreferencedImage
	return w.enqueue(ctx, op{
		apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
			pruned = nil
			if err := tx.lock(ctx); err != nil {
				return Unchanged, err
			}
			all, err := unreferenced(ctx, tx.tx, w.c.d)
			if err != nil {
				return Unchanged, err
			}
			for _, u := range all {
				if u.Since.After(cutoff) {
					continue
				}
				var config *string
				if err := tx.queryRow(ctx, `SELECT config_digest FROM images WHERE name = $1`, u.Digest).Scan(&config); err != nil {
					return Unchanged, fmt.Errorf("prune %s: %w", u.Digest, err)
				}
				if _, err := tx.exec(ctx, `DELETE FROM images WHERE name = $1`, u.Digest); err != nil {
					return Unchanged, fmt.Errorf("prune %s: %w", u.Digest, err)
				}
				if config != nil {
					if _, err := tx.exec(ctx, `DELETE FROM configs WHERE digest = $1 AND NOT EXISTS (SELECT 1 FROM images WHERE config_digest = $2)`,
						*config, *config); err != nil {
						return Unchanged, fmt.Errorf("prune config of %s: %w", u.Digest, err)
					}
				}
				if _, err := w.c.recordChange(ctx, tx, "images", u.Digest, "DELETED"); err != nil {
					return Unchanged, err
				}
				pruned = append(pruned, u)
			}
			if len(pruned) == 0 {
				return Unchanged, nil
			}
			return Updated, nil
		},
		done: func(_ Outcome, err error) {
			if done != nil {
				if err != nil {
					done(nil, err)
					return
				}
				done(pruned, nil)
			}
		},
	})
}

// UnreferencedImagesIn is UnreferencedImages as the transaction tx (a
// report's snapshot, catalog.ReportSource) sees them.
func (c *Catalog) UnreferencedImagesIn(ctx context.Context, tx *sql.Tx) ([]UnreferencedImage, error) {
	return unreferenced(ctx, tx, c.d)
}
