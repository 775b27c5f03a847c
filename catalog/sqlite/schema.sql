-- The SQLite catalog's schema as its migrations leave it. A new catalog is
-- created from this file in one transaction (Dialect.NewSchema); an older
-- one is migrated. Generated from the migrations, not edited: after adding a
-- migration, run
--   go test ./catalog/sqlite -run TestNewSchemaIsWhatTheMigrationsLeave -update-schema
-- version: 14

CREATE TABLE changes (
    resource_version INTEGER PRIMARY KEY AUTOINCREMENT,
    resource         TEXT NOT NULL,              -- 'images', 'imagestreams'
    name             TEXT NOT NULL,              -- object name (namespace/name when namespaced)
    event            TEXT NOT NULL CHECK (event IN ('ADDED', 'MODIFIED', 'DELETED')),
    changed_at       TEXT NOT NULL               -- RFC 3339, UTC
);

CREATE TABLE configs (
    digest     TEXT PRIMARY KEY,                 -- sha256:<hex> of content
    media_type TEXT NOT NULL,
    content    BLOB NOT NULL                     -- the config JSON exactly as served
);

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
, signature_verdict TEXT, signature_reason TEXT, source_reference TEXT);

CREATE UNIQUE INDEX images_by_resource_version ON images (resource_version);

CREATE INDEX images_by_config ON images (config_digest);

CREATE TABLE image_layers (
    image_name TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    position   INTEGER NOT NULL,                 -- 0 = base layer
    digest     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (image_name, position)
) WITHOUT ROWID;

CREATE INDEX image_layers_by_digest ON image_layers (digest);

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

CREATE TABLE repositories (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
, removed_at TEXT, removed_run INTEGER REFERENCES import_runs (id));

CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    tag           TEXT NOT NULL,
    image_name    TEXT NOT NULL REFERENCES images (name),
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (repository_id, tag)
) WITHOUT ROWID;

CREATE INDEX tags_by_image ON tags (image_name);

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

CREATE TABLE image_verdicts (
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    image_name    TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    verdict       TEXT NOT NULL,              -- accepted, rejected, no-policy, unevaluated
    reason        TEXT NOT NULL DEFAULT '',
    evaluated_at  TEXT NOT NULL,              -- RFC 3339, UTC
    run_id        INTEGER REFERENCES import_runs (id),  -- NULL: by regimport verify, or migrated
    migrated      INTEGER NOT NULL DEFAULT 0, -- 1: copied from the per-image verdict; the next run looks it up
    PRIMARY KEY (repository_id, image_name)
) WITHOUT ROWID;

CREATE INDEX image_verdicts_by_image ON image_verdicts (image_name);

CREATE TABLE verdict_history (
    id            INTEGER PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories (id),
    image_name    TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    signature     TEXT NOT NULL DEFAULT '',   -- '': the pair's verdict; else the signature's name
    old_value     TEXT NOT NULL,              -- verdict, or the signature's Trusted status
    old_reason    TEXT NOT NULL DEFAULT '',
    new_value     TEXT NOT NULL,
    new_reason    TEXT NOT NULL DEFAULT '',
    run_id        INTEGER REFERENCES import_runs (id),
    changed_at    TEXT NOT NULL
);

CREATE INDEX verdict_history_by_image ON verdict_history (image_name);

CREATE TABLE "tag_events" (
    id                     INTEGER PRIMARY KEY,
    repository_id          INTEGER NOT NULL REFERENCES repositories (id),
    tag                    TEXT NOT NULL,
    image_name             TEXT NOT NULL,        -- added/moved: the new digest; removed: the digest it last pointed at
    docker_image_reference TEXT NOT NULL,        -- repository@image_name
    created                TEXT NOT NULL,        -- RFC 3339, UTC
    run_id                 INTEGER REFERENCES import_runs (id),
    event                  TEXT NOT NULL CHECK (event IN ('added', 'moved', 'removed')),
    reason                 TEXT                  -- removed: why (absent from a complete tag list, 404, ...)
);

CREATE INDEX tag_events_by_tag ON tag_events (repository_id, tag, id);

CREATE INDEX tag_events_by_image ON tag_events (image_name);

CREATE TABLE referrer_lookups (
    image_name TEXT PRIMARY KEY REFERENCES images (name) ON DELETE CASCADE,
    checked_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE "import_failures" (
    id        INTEGER PRIMARY KEY,
    run_id    INTEGER NOT NULL REFERENCES import_runs (id),
    reference TEXT NOT NULL,
    reason    TEXT NOT NULL,
    failed_at TEXT NOT NULL               -- RFC 3339, UTC
);

CREATE INDEX import_failures_by_run ON import_failures (run_id);

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

CREATE TABLE "import_runs" (
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

CREATE TABLE image_artifacts (
    image_name    TEXT PRIMARY KEY REFERENCES images (name) ON DELETE CASCADE,
    artifact_type TEXT NOT NULL                   -- artifactType, else the config media type
) WITHOUT ROWID;

CREATE TABLE "signatures" (
    image_name             TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    repository_id          INTEGER NOT NULL REFERENCES repositories (id),
    name                   TEXT NOT NULL,        -- <imageName>@<signatureName>
    position               INTEGER NOT NULL,     -- order found
    source                 TEXT NOT NULL,        -- lookaside, extension, sigstore
    type                   TEXT NOT NULL,        -- atomic, sigstore
    content                BLOB NOT NULL,        -- the signature blob (sigstore: the payload)
    sigstore_signature     TEXT,
    certificate            TEXT,
    chain                  TEXT,
    bundle                 TEXT,
    trusted                TEXT NOT NULL,        -- condition Trusted: True, False, Unknown
    reason                 TEXT NOT NULL DEFAULT '',
    signer                 TEXT NOT NULL DEFAULT '',
    object                 TEXT NOT NULL,        -- the ImageSignature JSON as served
    key_fingerprint        TEXT NOT NULL DEFAULT '',
    certificate_subject    TEXT NOT NULL DEFAULT '',
    certificate_issuer     TEXT NOT NULL DEFAULT '',
    oidc_issuer            TEXT NOT NULL DEFAULT '',
    certificate_not_before TEXT,
    certificate_not_after  TEXT,
    signing_time           TEXT,
    time_source            TEXT NOT NULL DEFAULT '', -- transparency-log, rfc3161, notation-signing-time, signer, none; '': unknown
    time_verified          INTEGER NOT NULL DEFAULT 0,
    signature_expiry       TEXT,
    tlog_present           INTEGER NOT NULL DEFAULT 0,
    tlog_verified          INTEGER NOT NULL DEFAULT 0,
    timestamp_present      INTEGER NOT NULL DEFAULT 0,
    timestamp_verified     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (image_name, repository_id, name)
);

CREATE INDEX signatures_by_signer ON signatures (signer);

CREATE INDEX signatures_by_repository ON signatures (repository_id, image_name);

CREATE INDEX signatures_by_key ON signatures (key_fingerprint);

CREATE TABLE "attestations" (
    image_name     TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    position       INTEGER NOT NULL,              -- order found
    referrer       TEXT NOT NULL,                 -- digest of the referrer manifest
    predicate_type TEXT NOT NULL DEFAULT '',      -- in-toto predicateType ('' when unreadable)
    signer         TEXT NOT NULL DEFAULT '',      -- key fingerprint or certificate subject, when verified
    verified       INTEGER NOT NULL DEFAULT 0,    -- 1: verified under the policy's sigstoreSigned requirements
    reason         TEXT NOT NULL DEFAULT '',      -- Verified, or why not (as for signatures)
    message        TEXT NOT NULL DEFAULT '',
    content        BLOB,                          -- the sigstore bundle as found
    PRIMARY KEY (image_name, position)
);

CREATE INDEX attestations_by_predicate ON attestations (predicate_type);

CREATE TABLE "index_attestations" (
    list_name      TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    manifest       TEXT NOT NULL,                 -- digest of the attestation manifest
    position       INTEGER NOT NULL,              -- layer index (0 when the manifest itself could not be read)
    image_name     TEXT NOT NULL,                 -- vnd.docker.reference.digest: the image attested
    in_index       INTEGER NOT NULL DEFAULT 1,    -- 0: the referenced image is not an entry of the index (warned)
    predicate_type TEXT NOT NULL DEFAULT '',      -- in-toto predicateType ('' when unreadable)
    builder_id     TEXT NOT NULL DEFAULT '',      -- SLSA provenance: builder.id
    materials      TEXT NOT NULL DEFAULT '[]',    -- SLSA provenance: materials / resolvedDependencies URIs, JSON array
    readable       INTEGER NOT NULL DEFAULT 1,    -- 0: not fetched, not JSON or over its cap (reason says which)
    reason         TEXT NOT NULL DEFAULT '',
    content        BLOB,                          -- the in-toto statement as found, within its cap
    PRIMARY KEY (list_name, manifest, position)
);

CREATE INDEX index_attestations_by_image ON index_attestations (image_name);
