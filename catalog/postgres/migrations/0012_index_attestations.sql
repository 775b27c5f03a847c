-- 0012: BuildKit attestation manifests of an OCI index, kept as attestations
-- of the image they reference; see migrations/sqlite/0012_index_attestations.sql.
-- Native types: boolean flags, jsonb materials, bytea content.
CREATE TABLE index_attestations (
    list_name      TEXT COLLATE "C" NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    manifest       TEXT COLLATE "C" NOT NULL,
    position       BIGINT NOT NULL,
    image_name     TEXT COLLATE "C" NOT NULL,
    in_index       BOOLEAN NOT NULL DEFAULT true,
    predicate_type TEXT COLLATE "C" NOT NULL DEFAULT '',
    builder_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    materials      JSONB NOT NULL DEFAULT '[]'::jsonb,
    readable       BOOLEAN NOT NULL DEFAULT true,
    reason         TEXT COLLATE "C" NOT NULL DEFAULT '',
    content        BYTEA,
    PRIMARY KEY (list_name, manifest, position)
);
CREATE INDEX index_attestations_by_image ON index_attestations (image_name);

CREATE TABLE image_artifacts (
    image_name    TEXT COLLATE "C" PRIMARY KEY REFERENCES images (name) ON DELETE CASCADE,
    artifact_type TEXT COLLATE "C" NOT NULL
);
