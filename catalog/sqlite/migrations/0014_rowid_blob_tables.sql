-- 0014: signatures, attestations and index_attestations become rowid tables.
-- They were WITHOUT ROWID, which keeps each whole row in its primary key's
-- B-tree; that suits small rows, but these hold signature blobs, ImageSignature
-- JSON and sigstore bundles of several KiB, and an insert at a random digest
-- moved them around on every page split: storing a signed image's signature
-- cost more than storing the image. As rowid tables their rows are appended,
-- and the primary key is a unique index beside them. Columns, keys, defaults
-- and indexes are unchanged.
CREATE TABLE signatures_0014 (
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
INSERT INTO signatures_0014 SELECT image_name, repository_id, name, position, source, type, content, sigstore_signature,
    certificate, chain, bundle, trusted, reason, signer, object, key_fingerprint, certificate_subject, certificate_issuer,
    oidc_issuer, certificate_not_before, certificate_not_after, signing_time, time_source, time_verified, signature_expiry,
    tlog_present, tlog_verified, timestamp_present, timestamp_verified
  FROM signatures ORDER BY image_name, repository_id, name;
DROP TABLE signatures;
ALTER TABLE signatures_0014 RENAME TO signatures;
CREATE INDEX signatures_by_signer ON signatures (signer);
CREATE INDEX signatures_by_repository ON signatures (repository_id, image_name);
CREATE INDEX signatures_by_key ON signatures (key_fingerprint);

CREATE TABLE attestations_0014 (
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
INSERT INTO attestations_0014 SELECT image_name, position, referrer, predicate_type, signer, verified, reason, message, content
  FROM attestations ORDER BY image_name, position;
DROP TABLE attestations;
ALTER TABLE attestations_0014 RENAME TO attestations;
CREATE INDEX attestations_by_predicate ON attestations (predicate_type);

CREATE TABLE index_attestations_0014 (
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
INSERT INTO index_attestations_0014 SELECT list_name, manifest, position, image_name, in_index, predicate_type, builder_id,
    materials, readable, reason, content
  FROM index_attestations ORDER BY list_name, manifest, position;
DROP TABLE index_attestations;
ALTER TABLE index_attestations_0014 RENAME TO index_attestations;
CREATE INDEX index_attestations_by_image ON index_attestations (image_name);
