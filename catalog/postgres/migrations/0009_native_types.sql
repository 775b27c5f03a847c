-- 0009: PostgreSQL's own types, and no emulated SQLite functions.
--
-- Schema 7 and 8 kept SQLite's storage: RFC 3339 text for times, text for
-- JSON documents, integers for flags, a column named rowid, and SQL
-- functions that imitated SQLite's (instr, julianday, json_extract, glob,
-- group_concat, sum(boolean)) so that one SQL text ran on both. The catalog
-- now writes each query as PostgreSQL speaks it; this converts the data in
-- place, every value kept:
-- * times become timestamptz (to the microsecond, PostgreSQL's precision);
-- * documents become jsonb (annotations, labels, signature objects), except
--   images.metadata, which becomes json: dockerImageMetadata is served byte
--   for byte as imported, and jsonb would reorder its keys;
-- * flags become boolean;
-- * import_failures.rowid becomes id, the failure's identity.

ALTER TABLE changes ALTER COLUMN changed_at TYPE timestamptz USING changed_at::timestamptz;

ALTER TABLE import_runs
    ALTER COLUMN started_at TYPE timestamptz USING started_at::timestamptz,
    ALTER COLUMN finished_at TYPE timestamptz USING finished_at::timestamptz;

ALTER TABLE import_failures RENAME COLUMN rowid TO id;
ALTER TABLE import_failures ALTER COLUMN failed_at TYPE timestamptz USING failed_at::timestamptz;

ALTER TABLE images
    ALTER COLUMN creation_timestamp TYPE timestamptz USING creation_timestamp::timestamptz,
    ALTER COLUMN image_created TYPE timestamptz USING image_created::timestamptz,
    ALTER COLUMN metadata TYPE json USING metadata::json,
    ALTER COLUMN annotations TYPE jsonb USING annotations::jsonb;

ALTER TABLE repositories ALTER COLUMN removed_at TYPE timestamptz USING removed_at::timestamptz;

ALTER TABLE tags ALTER COLUMN updated_at TYPE timestamptz USING updated_at::timestamptz;

ALTER TABLE tag_events ALTER COLUMN created TYPE timestamptz USING created::timestamptz;

ALTER TABLE image_streams
    ALTER COLUMN creation_timestamp TYPE timestamptz USING creation_timestamp::timestamptz,
    ALTER COLUMN labels TYPE jsonb USING labels::jsonb,
    ALTER COLUMN annotations TYPE jsonb USING annotations::jsonb,
    ALTER COLUMN lookup_local DROP DEFAULT,
    ALTER COLUMN lookup_local TYPE boolean USING lookup_local <> 0,
    ALTER COLUMN lookup_local SET DEFAULT false;

ALTER TABLE image_stream_spec_tags
    ALTER COLUMN annotations TYPE jsonb USING annotations::jsonb,
    ALTER COLUMN reference DROP DEFAULT,
    ALTER COLUMN reference TYPE boolean USING reference <> 0,
    ALTER COLUMN reference SET DEFAULT false,
    ALTER COLUMN insecure DROP DEFAULT,
    ALTER COLUMN insecure TYPE boolean USING insecure <> 0,
    ALTER COLUMN insecure SET DEFAULT false,
    ALTER COLUMN scheduled DROP DEFAULT,
    ALTER COLUMN scheduled TYPE boolean USING scheduled <> 0,
    ALTER COLUMN scheduled SET DEFAULT false;

ALTER TABLE image_stream_tag_events ALTER COLUMN created TYPE timestamptz USING created::timestamptz;

ALTER TABLE image_stream_conditions
    ALTER COLUMN last_transition_time TYPE timestamptz USING last_transition_time::timestamptz;

ALTER TABLE image_verdicts
    ALTER COLUMN evaluated_at TYPE timestamptz USING evaluated_at::timestamptz,
    ALTER COLUMN migrated DROP DEFAULT,
    ALTER COLUMN migrated TYPE boolean USING migrated <> 0,
    ALTER COLUMN migrated SET DEFAULT false;

ALTER TABLE verdict_history ALTER COLUMN changed_at TYPE timestamptz USING changed_at::timestamptz;

ALTER TABLE signatures ALTER COLUMN object TYPE jsonb USING object::jsonb;

ALTER TABLE attestations
    ALTER COLUMN verified DROP DEFAULT,
    ALTER COLUMN verified TYPE boolean USING verified <> 0,
    ALTER COLUMN verified SET DEFAULT false;

ALTER TABLE referrer_lookups ALTER COLUMN checked_at TYPE timestamptz USING checked_at::timestamptz;

ALTER TABLE schema_migrations ALTER COLUMN applied_at TYPE timestamptz USING applied_at::timestamptz;

-- The report reads runs' events and verdict changes by run.
CREATE INDEX tag_events_by_run ON tag_events (run_id);
CREATE INDEX verdict_history_by_repository ON verdict_history (repository_id, id);

DROP AGGREGATE sum(boolean);
DROP FUNCTION bool_sum_step(bigint, boolean);
DROP AGGREGATE group_concat(text);
DROP AGGREGATE group_concat(text, text);
DROP FUNCTION group_concat_step(text, text);
DROP FUNCTION group_concat_step(text, text, text);
DROP FUNCTION glob(text, text);
DROP FUNCTION glob_regex(text);
DROP FUNCTION json_extract(text, text);
DROP FUNCTION julianday(text);
DROP FUNCTION instr(text, text);
