-- 0013: the evidence behind each stored signature; see
-- migrations/sqlite/0013_signature_evidence.sql. Native types: timestamptz
-- (NULL: none), boolean. Signatures stored before this migration get
-- time_source '' (unknown until re-verified).
ALTER TABLE signatures ADD COLUMN key_fingerprint        TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN certificate_subject    TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN certificate_issuer     TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN oidc_issuer            TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN certificate_not_before timestamptz;
ALTER TABLE signatures ADD COLUMN certificate_not_after  timestamptz;
ALTER TABLE signatures ADD COLUMN signing_time           timestamptz;
ALTER TABLE signatures ADD COLUMN time_source            TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN time_verified          BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE signatures ADD COLUMN signature_expiry       timestamptz;
ALTER TABLE signatures ADD COLUMN tlog_present           BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE signatures ADD COLUMN tlog_verified          BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE signatures ADD COLUMN timestamp_present      BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE signatures ADD COLUMN timestamp_verified     BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX signatures_by_key ON signatures (key_fingerprint);
