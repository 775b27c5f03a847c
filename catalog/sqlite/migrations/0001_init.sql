-- 0001: the first catalog schema. See README.md ("Catalog schema") for a tour.

-- One row per change to a served object. Its id is the resourceVersion.
CREATE TABLE changes (
    resource_version INTEGER PRIMARY KEY AUTOINCREMENT,
    resource         TEXT NOT NULL,              -- 'images', 'imagestreams'
    name             TEXT NOT NULL,              -- object name (namespace/name when namespaced)
    event            TEXT NOT NULL CHECK (event IN ('ADDED', 'MODIFIED', 'DELETED')),
    changed_at       TEXT NOT NULL               -- RFC 3339, UTC
);

-- Image configs, stored once per digest: many manifests can share one.
CREATE TABLE configs (
    digest     TEXT PRIMARY KEY,                 -- sha256:<hex> of content
    media_type TEXT NOT NULL,
    content    BLOB NOT NULL                     -- the config JSON exactly as served
);

-- One row per registry manifest: an OpenShift Image named by its digest.
CREATE TABLE images (
    name                   TEXT PRIMARY KEY,     -- sha256:<hex> of the manifest (metadata.name)
    uid                    TEXT NOT NULL,        -- derived from name, so unique with it
    resource_version       INTEGER NOT NULL,     -- changes.resource_version of its last change
    creation_timestamp     TEXT NOT NULL,        -- when this catalog first stored it
    docker_image_reference TEXT NOT NULL,        -- repo@digest as the user wrote the repository
    manifest_media_type    TEXT NOT NULL,
    manifest               BLOB NOT NULL,        -- raw manifest bytes as served
    config_digest          TEXT REFERENCES configs (digest),  -- NULL for lists and schema1
    metadata               TEXT NOT NULL,        -- dockerImageMetadata (DockerImage 1.0 JSON)
    annotations            TEXT,                 -- JSON object, NULL when none
    architecture           TEXT,                 -- platform, kept for audits (the wire schema drops os)
    os                     TEXT,
    variant                TEXT,
    image_created          TEXT,                 -- the config's created time, RFC 3339
    size                   INTEGER NOT NULL,     -- dockerImageMetadata.Size
    first_run              INTEGER REFERENCES import_runs (id)
);
CREATE UNIQUE INDEX images_by_resource_version ON images (resource_version);
CREATE INDEX images_by_config ON images (config_digest);

-- dockerImageLayers, base first.
CREATE TABLE image_layers (
    image_name TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    position   INTEGER NOT NULL,                 -- 0 = base layer
    digest     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (image_name, position)
) WITHOUT ROWID;
CREATE INDEX image_layers_by_digest ON image_layers (digest);

-- dockerImageManifests of a manifest list or OCI index, in list order.
CREATE TABLE image_manifests (
    list_name     TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    digest        TEXT NOT NULL,                 -- the child, itself a row of images once imported
    media_type    TEXT NOT NULL,
    manifest_size INTEGER NOT NULL,
    architecture  TEXT NOT NULL,
    os            TEXT NOT NULL,
    variant       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (list_name, position)
) WITHOUT ROWID;
CREATE INDEX image_manifests_by_digest ON image_manifests (digest);

-- Repositories as the user named them (host/path, no tag).
CREATE TABLE repositories (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- The current digest of each tag.
CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    tag           TEXT NOT NULL,
    image_name    TEXT NOT NULL REFERENCES images (name),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (repository_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_by_image ON tags (image_name);

-- Tag history: a row each time a tag was first seen or moved to another digest.
CREATE TABLE tag_events (
    id                     INTEGER PRIMARY KEY,
    repository_id          INTEGER NOT NULL REFERENCES repositories (id),
    tag                    TEXT NOT NULL,
    image_name             TEXT NOT NULL REFERENCES images (name),
    docker_image_reference TEXT NOT NULL,
    created                TEXT NOT NULL,
    run_id                 INTEGER REFERENCES import_runs (id)
);
CREATE INDEX tag_events_by_tag ON tag_events (repository_id, tag, id);

-- One row per `regimport import` run.
CREATE TABLE import_runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'partial', 'failed', 'interrupted')),
    command     TEXT NOT NULL,                   -- what was asked, credentials never included
    imported    INTEGER NOT NULL DEFAULT 0,
    unchanged   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0
);

-- What failed in a run, one row per reference, with the reason.
CREATE TABLE import_failures (
    run_id    INTEGER NOT NULL REFERENCES import_runs (id),
    reference TEXT NOT NULL,
    reason    TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX import_failures_by_run ON import_failures (run_id);
