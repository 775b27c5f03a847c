-- 0008: sharded imports.
--
-- `import --shard I/N` (or --shards N in a Kubernetes Indexed Job) records
-- one run per shard. shard_index (0-based) and shard_count say which part
-- of the work the run took; run_group names the sharded run its shards
-- belong to, so that `regimport runs` shows them as one. All three are NULL
-- for an unsharded run.
ALTER TABLE import_runs ADD COLUMN shard_index INTEGER;
ALTER TABLE import_runs ADD COLUMN shard_count INTEGER;
ALTER TABLE import_runs ADD COLUMN run_group TEXT;
