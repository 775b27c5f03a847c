-- 0008: sharded imports (see migrations/sqlite/0008_shards.sql).
ALTER TABLE import_runs ADD COLUMN shard_index BIGINT;
ALTER TABLE import_runs ADD COLUMN shard_count BIGINT;
ALTER TABLE import_runs ADD COLUMN run_group TEXT COLLATE "C";
