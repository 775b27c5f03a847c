-- 0013: the evidence behind each stored signature, as the verifier
-- established it (catalog.SignatureEvidence): the signer's key fingerprint
-- or certificate subject, issuer and OIDC issuer; the certificate's
-- validity; the signing time, where it comes from and whether a third party
-- attested it; the signer's expiry; transparency-log and RFC 3161 evidence.
-- Times are RFC 3339 text in UTC (NULL: none), flags 0 or 1.
--
-- Signatures stored before this migration get time_source '' (unknown until
-- re-verified): `regimport verify` records their evidence, as does the next
-- import that looks them up again.
ALTER TABLE signatures ADD COLUMN key_fingerprint        TEXT NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN certificate_subject    TEXT NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN certificate_issuer     TEXT NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN oidc_issuer            TEXT NOT NULL DEFAULT '';
ALTER TABLE signatures ADD COLUMN certificate_not_before TEXT;
ALTER TABLE signatures ADD COLUMN certificate_not_after  TEXT;
ALTER TABLE signatures ADD COLUMN signing_time           TEXT;
ALTER TABLE signatures ADD COLUMN time_source            TEXT NOT NULL DEFAULT ''; -- transparency-log, rfc3161, notation-signing-time, signer, none; '': unknown
ALTER TABLE signatures ADD COLUMN time_verified          INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signatures ADD COLUMN signature_expiry       TEXT;
ALTER TABLE signatures ADD COLUMN tlog_present           INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signatures ADD COLUMN tlog_verified          INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signatures ADD COLUMN timestamp_present      INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signatures ADD COLUMN timestamp_verified     INTEGER NOT NULL DEFAULT 0;
-- `report --key-retired KEY=DATE` looks signatures up by key.
CREATE INDEX signatures_by_key ON signatures (key_fingerprint);
