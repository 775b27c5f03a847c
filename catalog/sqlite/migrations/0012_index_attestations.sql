-- 0012: BuildKit attestation manifests of an OCI index (`docker buildx build
-- --push` adds one per platform since BuildKit 0.11: platform unknown/unknown,
-- annotations vnd.docker.reference.type = attestation-manifest and
-- vnd.docker.reference.digest = the image). They are not images: no row of
-- images, no verdict, no entry of image_manifests. Each in-toto layer is kept
-- here as an attestation of the image the manifest references.
CREATE TABLE index_attestations (
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
) WITHOUT ROWID;
CREATE INDEX index_attestations_by_image ON index_attestations (image_name);

-- OCI artifacts (Helm charts, WASM modules, Flux artifacts, SBOM documents,
-- ...): manifests classified by artifactType and config media type as not
-- runnable images. They keep their signatures and verdicts, but have no
-- platform and no pull verdict.
CREATE TABLE image_artifacts (
    image_name    TEXT PRIMARY KEY REFERENCES images (name) ON DELETE CASCADE,
    artifact_type TEXT NOT NULL                   -- artifactType, else the config media type
) WITHOUT ROWID;
