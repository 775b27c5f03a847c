-- 0003: image streams, as `regimport import -f` leaves them after an
-- ImageStreamImport: spec tags, tag histories and import conditions.
-- A stream's resourceVersion is a row of `changes` (resource 'imagestreams',
-- name 'namespace/name'), like an image's.

CREATE TABLE image_streams (
    id                 INTEGER PRIMARY KEY,
    full_name          TEXT NOT NULL UNIQUE,     -- namespace/name: list order, changes.name
    namespace          TEXT NOT NULL,
    name               TEXT NOT NULL,
    uid                TEXT NOT NULL,            -- derived from full_name
    resource_version   INTEGER NOT NULL,         -- changes.resource_version of its last change
    creation_timestamp TEXT NOT NULL,            -- RFC 3339, UTC
    generation         INTEGER NOT NULL,
    labels             TEXT,                     -- JSON object, NULL when none
    annotations        TEXT,                     -- JSON object, NULL when none
    lookup_local       INTEGER NOT NULL DEFAULT 0  -- spec.lookupPolicy.local
);
CREATE INDEX image_streams_by_namespace ON image_streams (namespace, full_name);

-- spec.tags: where each tag imports from and how.
CREATE TABLE image_stream_spec_tags (
    stream_id        INTEGER NOT NULL REFERENCES image_streams (id) ON DELETE CASCADE,
    tag              TEXT NOT NULL,
    annotations      TEXT,                       -- JSON object, NULL when none
    from_kind        TEXT NOT NULL DEFAULT '',   -- DockerImage
    from_namespace   TEXT NOT NULL DEFAULT '',
    from_name        TEXT NOT NULL DEFAULT '',   -- the pull spec imported from
    reference        INTEGER NOT NULL DEFAULT 0,
    generation       INTEGER,                    -- NULL when unset
    insecure         INTEGER NOT NULL DEFAULT 0, -- importPolicy.insecure
    scheduled        INTEGER NOT NULL DEFAULT 0, -- importPolicy.scheduled
    import_mode      TEXT NOT NULL DEFAULT '',   -- importPolicy.importMode: Legacy, PreserveOriginal
    reference_policy TEXT NOT NULL DEFAULT '',   -- referencePolicy.type: Source, Local
    PRIMARY KEY (stream_id, tag)
) WITHOUT ROWID;

-- status.tags[].items: what each tag pointed at, newest first (position 0).
CREATE TABLE image_stream_tag_events (
    stream_id              INTEGER NOT NULL REFERENCES image_streams (id) ON DELETE CASCADE,
    tag                    TEXT NOT NULL,
    position               INTEGER NOT NULL,     -- 0 = the tag's current image
    created                TEXT NOT NULL,        -- RFC 3339, UTC
    docker_image_reference TEXT NOT NULL,        -- repository@digest
    image                  TEXT NOT NULL REFERENCES images (name),
    generation             INTEGER NOT NULL,
    PRIMARY KEY (stream_id, tag, position)
) WITHOUT ROWID;
CREATE INDEX image_stream_tag_events_by_image ON image_stream_tag_events (image);

-- status.tags[].conditions: ImportSuccess=False with the Status reason of a failed import.
CREATE TABLE image_stream_conditions (
    stream_id            INTEGER NOT NULL REFERENCES image_streams (id) ON DELETE CASCADE,
    tag                  TEXT NOT NULL,
    position             INTEGER NOT NULL,
    type                 TEXT NOT NULL,          -- ImportSuccess
    status               TEXT NOT NULL,          -- True, False, Unknown
    last_transition_time TEXT,                   -- RFC 3339, UTC
    reason               TEXT NOT NULL DEFAULT '', -- NotFound, Unauthorized, InternalError, ...
    message              TEXT NOT NULL DEFAULT '',
    generation           INTEGER NOT NULL,
    PRIMARY KEY (stream_id, tag, position)
) WITHOUT ROWID;
