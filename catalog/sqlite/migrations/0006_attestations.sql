-- 0006: in-toto attestations (SLSA provenance, SPDX and CycloneDX SBOMs, ...)
-- found as OCI 1.1 referrers of an image, kept as audit facts.

-- One row per attestation bundle, with the bundle as found (within the
-- signature size cap) so that `regimport verify` can judge it again offline.
CREATE TABLE attestations (
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
) WITHOUT ROWID;
CREATE INDEX attestations_by_predicate ON attestations (predicate_type);

-- Images whose referrers were looked up (with or without attestations found),
-- so that "no provenance" is told apart from "never looked".
CREATE TABLE referrer_lookups (
    image_name TEXT PRIMARY KEY REFERENCES images (name) ON DELETE CASCADE,
    checked_at TEXT NOT NULL
) WITHOUT ROWID;
