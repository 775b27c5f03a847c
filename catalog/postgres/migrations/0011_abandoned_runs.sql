-- 0011: abandoned runs (see migrations/sqlite/0011_abandoned_runs.sql).
ALTER TABLE import_runs DROP CONSTRAINT import_runs_status_check;
ALTER TABLE import_runs ADD CONSTRAINT import_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted', 'abandoned'));
ALTER TABLE import_runs ADD COLUMN abandoned_at timestamptz;
ALTER TABLE import_runs ADD COLUMN abandoned_by BIGINT REFERENCES import_runs (id);
