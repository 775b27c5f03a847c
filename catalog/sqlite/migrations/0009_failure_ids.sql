-- 0009: import failures get an id column (their insertion order), as on
-- PostgreSQL, so that both catalogs order a run's failures by the same
-- named column rather than by SQLite's hidden rowid.
CREATE TABLE import_failures_0009 (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES import_runs (id),
    reference TEXT NOT NULL,
    reason    TEXT NOT NULL,
    failed_at TEXT NOT NULL               -- RFC 3339, UTC
);
INSERT INTO import_failures_0009 (id, run_id, reference, reason, failed_at)
SELECT rowid, run_id, reference, reason, failed_at FROM import_failures ORDER BY rowid;
DROP TABLE import_failures;
ALTER TABLE import_failures_0009 RENAME TO import_failures;
CREATE INDEX import_failures_by_run ON import_failures (run_id);
