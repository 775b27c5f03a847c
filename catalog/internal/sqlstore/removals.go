package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	imagev1 "github.com/openshift/api/image/v1"
)

// RemoveTags queues the removal of tags: each current one leaves `tags`,
// gets a 'removed' event (time, run, previous digest, reason), and every
// image stream tracking it is marked. Images stay. done gets what was
// removed (nothing for tags that were not current).
func (w *Writer) RemoveTags(ctx context.Context, rec TagRemoval, done func([]RemovedTag, error)) error {
	var removed []RemovedTag
	return w.enqueue(ctx, op{
		apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
			if err := tx.lock(ctx); err != nil {
				return Unchanged, err
			}
			var err error
			removed, err = w.c.removeTags(ctx, tx, rec, w.opts.RunID)
			if err != nil || len(removed) == 0 {
				return Unchanged, err
			}
			return Updated, nil
		},
		done: func(_ Outcome, err error) {
			if done != nil {
				if err != nil {
					done(nil, err)
					return
				}
				done(removed, nil)
			}
		},
	})
}

// RemoveRepository queues the removal of a repository missing from a
// complete /v2/_catalog: every current tag of it is removed as RemoveTags
// removes them, and the repository is marked removed (until one of its
// tags is imported again).
func (w *Writer) RemoveRepository(ctx context.Context, repository string, mark StreamMarker, done func([]RemovedTag, error)) error {
	var removed []RemovedTag
	return w.enqueue(ctx, op{
		apply: func(ctx context.Context, tx *batchTx) (Outcome, error) {
			if err := tx.lock(ctx); err != nil {
				return Unchanged, err
			}
			var id int64
			err := tx.queryRow(ctx, `SELECT id FROM repositories WHERE name = $1 AND removed_at IS NULL`, repository).Scan(&id)
			if errors.Is(err, sql.ErrNoRows) {
				removed = nil
				return Unchanged, nil
			}
			if err != nil {
				return Unchanged, fmt.Errorf("look up repository %s: %w", repository, err)
			}
			tags, err := queryStrings(ctx, tx.tx, `SELECT tag FROM tags WHERE repository_id = $1 ORDER BY tag`, id)
			if err != nil {
				return Unchanged, fmt.Errorf("tags of repository %s: %w", repository, err)
			}
			removed, err = w.c.removeTags(ctx, tx, TagRemoval{Repository: repository, Tags: tags, Reason: ReasonRepositoryRemoved, MarkStream: mark}, w.opts.RunID)
			if err != nil {
				return Unchanged, err
			}
			if _, err := tx.exec(ctx, `UPDATE repositories SET removed_at = $1, removed_run = $2 WHERE id = $3`,
				w.c.timestamp(), runOrNull(w.opts.RunID), id); err != nil {
				return Unchanged, fmt.Errorf("mark repository %s removed: %w", repository, err)
			}
			// Its next tag must bring it back (putTag).
			delete(w.c.repoIDs, repository)
			delete(tx.live, id)
			return Updated, nil
		},
		done: func(_ Outcome, err error) {
			if done != nil {
				if err != nil {
					done(nil, err)
					return
				}
				done(removed, nil)
			}
		},
	})
}

func (c *Catalog) removeTags(ctx context.Context, tx *batchTx, rec TagRemoval, runID int64) ([]RemovedTag, error) {
	var repo int64
	err := tx.queryRow(ctx, `SELECT id FROM repositories WHERE name = $1`, rec.Repository).Scan(&repo)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up repository %s: %w", rec.Repository, err)
	}
	var removed []RemovedTag
	now := c.timestamp()
	for _, tag := range rec.Tags {
		var previous string
		err := tx.queryRow(ctx, `SELECT image_name FROM tags WHERE repository_id = $1 AND tag = $2`, repo, tag).Scan(&previous)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("look up tag %s:%s: %w", rec.Repository, tag, err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM tags WHERE repository_id = $1 AND tag = $2`, repo, tag); err != nil {
			return nil, fmt.Errorf("remove tag %s:%s: %w", rec.Repository, tag, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO tag_events (repository_id, tag, image_name, docker_image_reference, created, run_id, event, reason)
			VALUES ($1, $2, $3, $4, $5, $6, 'removed', $7)`, repo, tag, previous, rec.Repository+"@"+previous, now, runOrNull(runID), nullable(rec.Reason)); err != nil {
			return nil, fmt.Errorf("record removal of tag %s:%s: %w", rec.Repository, tag, err)
		}
		removed = append(removed, RemovedTag{Repository: rec.Repository, Tag: tag, Previous: previous})
		if rec.MarkStream != nil {
			if err := c.markStreams(ctx, tx, rec.Repository, tag, previous, rec.MarkStream); err != nil {
				return nil, err
			}
		}
	}
	return removed, nil
}

// markStreams offers mark every image stream with a spec tag that may
// import repository:tag (its from.name contains the repository's last path
// segment; mark decides, since names are written many ways: busybox,
// docker.io/library/busybox:latest).
func (c *Catalog) markStreams(ctx context.Context, tx *batchTx, repository, tag, previous string, mark StreamMarker) error {
	segment := repository[strings.LastIndex(repository, "/")+1:]
	names, err := queryStrings(ctx, tx.tx, `SELECT DISTINCT s.full_name FROM image_stream_spec_tags t
		JOIN image_streams s ON s.id = t.stream_id WHERE t.from_kind = 'DockerImage' AND `+c.d.Contains("t.from_name", "$1")+` ORDER BY 1`, segment)
	if err != nil {
		return fmt.Errorf("image streams tracking %s:%s: %w", repository, tag, err)
	}
	for _, full := range names {
		ns, name, _ := strings.Cut(full, "/")
		u := StreamUpdate{Namespace: ns, Name: name, Apply: func(cur *imagev1.ImageStream) (*imagev1.ImageStream, error) {
			if cur == nil {
				return nil, nil
			}
			return mark(cur, repository, tag, previous), nil
		}}
		if _, _, err := c.putImageStream(ctx, tx, u); err != nil {
			return err
		}
	}
	return nil
}

// CurrentTags returns the current tags of a repository and their digests
// (none for a repository the catalog does not know).
func (c *Catalog) CurrentTags(ctx context.Context, repository string) (map[string]string, error) {
	rows, err := c.read.QueryContext(ctx, `SELECT t.tag, t.image_name FROM tags t JOIN repositories r ON r.id = t.repository_id
		WHERE r.name = $1`, repository)
	if err != nil {
		return nil, fmt.Errorf("tags of %s: %w", repository, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var tag, image string
		if err := rows.Scan(&tag, &image); err != nil {
			return nil, fmt.Errorf("tags of %s: %w", repository, err)
		}
		out[tag] = image
	}
	return out, rows.Err()
}

// KnownRepositories returns the repositories not marked removed whose name
// starts with prefix ("host/" or "host/namespace/").
func (c *Catalog) KnownRepositories(ctx context.Context, prefix string) ([]string, error) {
	out, err := queryStrings(ctx, c.read, `SELECT name FROM repositories WHERE removed_at IS NULL
		AND substr(name, 1, length(CAST($1 AS TEXT))) = $2 ORDER BY name`, prefix, prefix)
	if err != nil {
		return nil, fmt.Errorf("repositories under %s: %w", prefix, err)
	}
	return out, nil
}

// queryStrings runs a one-column query.
func queryStrings(ctx context.Context, q querier, query string, args ...any) ([]string, error) {
	return scanStrings(q.QueryContext(ctx, query, args...))
}

// scanStrings reads a one-column result, closing it.
func scanStrings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func runOrNull(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}
