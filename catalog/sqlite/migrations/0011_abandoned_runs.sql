-- 0011: a run found 'running' by a later run that holds its lock is dead
-- (killed, or its machine lost): that later run marks it 'abandoned', with
-- when (abandoned_at) and by which run (abandoned_by). SQLite cannot
-- change a CHECK constraint in place, so import_runs is rebuilt; the
-- migration runs with foreign keys off and checks them before it commits
-- (SQLite's own procedure for schema changes), since other tables
-- reference import_runs.
CREATE TABLE import_runs_0011 (
    id           INTEGER PRIMARY KEY,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted', 'abandoned')),
    command      TEXT NOT NULL,                   -- what was asked, credentials never included
    imported     INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    failed       INTEGER NOT NULL DEFAULT 0,
    shard_index  INTEGER,
    shard_count  INTEGER,
    run_group    TEXT,
    abandoned_at TEXT,                            -- RFC 3339, UTC: when a later run found it dead
    abandoned_by INTEGER REFERENCES import_runs (id)
);
INSERT INTO import_runs_0011 (id, started_at, finished_at, status, command, imported, unchanged, failed, shard_index, shard_count, run_group)
SELECT id, started_at, finished_at, status, command, imported, unchanged, failed, shard_index, shard_count, run_group FROM import_runs ORDER BY id;
DROP TABLE import_runs;
ALTER TABLE import_runs_0011 RENAME TO import_runs;
