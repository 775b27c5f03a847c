-- 0010: mirror runs and what they copied (`regimport mirror apply`).

-- One row per `regimport mirror apply` run to one destination.
CREATE TABLE mirror_runs (
    id               INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,                 -- RFC 3339, UTC
    finished_at      TEXT,
    status           TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    command          TEXT NOT NULL,
    destination      TEXT NOT NULL,                 -- DEST as given: registry[/prefix], or the mapping file
    repository_glob  TEXT NOT NULL DEFAULT '',      -- --repository ('' for all)
    require_accepted INTEGER NOT NULL DEFAULT 0,    -- 1: --require accepted
    dry_run          INTEGER NOT NULL DEFAULT 0,
    copied           INTEGER NOT NULL DEFAULT 0,
    present          INTEGER NOT NULL DEFAULT 0,    -- already at the destination (one HEAD, no write)
    failed           INTEGER NOT NULL DEFAULT 0,
    deleted          INTEGER NOT NULL DEFAULT 0
);

-- One row per tag a mirror run acted on: copied, found present, deleted
-- (--prune) or failed with the destination's reason.
CREATE TABLE mirrored_tags (
    id                     INTEGER PRIMARY KEY,
    run_id                 INTEGER NOT NULL REFERENCES mirror_runs (id),
    source_repository      TEXT NOT NULL,          -- host/path as in repositories.name
    tag                    TEXT NOT NULL,
    destination_repository TEXT NOT NULL,          -- host/path at the destination
    destination_tag        TEXT NOT NULL,
    image_name             TEXT NOT NULL,          -- the digest copied (deleted: the digest removed)
    action                 TEXT NOT NULL CHECK (action IN ('copied', 'present', 'deleted', 'failed')),
    reason                 TEXT NOT NULL DEFAULT '',
    mirrored_at            TEXT NOT NULL           -- RFC 3339, UTC
);
CREATE INDEX mirrored_tags_by_source ON mirrored_tags (source_repository, tag, id);
CREATE INDEX mirrored_tags_by_image ON mirrored_tags (image_name);
