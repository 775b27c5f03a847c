package sqlstore

import (
	"context"
	"fmt"
)

// Changes returns up to limit changes of a resource after resourceVersion
// `after`, oldest first.
func (c *Catalog) Changes(ctx context.Context, resource string, after int64, limit int) ([]Change, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := c.read.QueryContext(ctx, `SELECT resource_version, resource, name, event, changed_at FROM changes
		WHERE resource_version > $1 AND resource = $2 ORDER BY resource_version LIMIT $3`, after, resource, limit)
	if err != nil {
		return nil, fmt.Errorf("read changes after %d: %w", after, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var ch Change
		var at string
		if err := rows.Scan(&ch.ResourceVersion, &ch.Resource, &ch.Name, &ch.Event, &at); err != nil {
			return nil, err
		}
		ch.ChangedAt = parseTime(at)
		out = append(out, ch)
	}
	return out, rows.Err()
}
