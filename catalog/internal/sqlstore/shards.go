package sqlstore

import (
	"database/sql"
)

// columns are the shard's import_runs columns: NULL for an unsharded run.
func shardColumns(s Shard) (index, count sql.NullInt64, group sql.NullString) {
	if !s.Sharded() {
		return
	}
	return sql.NullInt64{Int64: int64(s.Index), Valid: true}, sql.NullInt64{Int64: int64(s.Count), Valid: true},
		sql.NullString{String: s.Group, Valid: true}
}

// shardOf reads the columns back.
func shardOf(index, count sql.NullInt64, group sql.NullString) Shard {
	if !count.Valid {
		return Shard{}
	}
	return Shard{Index: int(index.Int64), Count: int(count.Int64), Group: group.String}
}
