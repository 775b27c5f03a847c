-- 0004: signature verdicts per (repository, image). Policy scopes, lookaside
-- locations and sigstore attachments are all per repository, so one image
-- referenced from two repositories has two verdicts. images.signature_verdict
-- stays as the summary over its repositories (accepted, rejected, mixed, ...).

-- The verdict of one repository's policy for one image, with its reason.
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

-- Every change of a pair's verdict, or of one of its signatures' results,
-- between runs (or by regimport verify): old -> new.
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

-- The repositories that reference an image: by tag, by its
-- dockerImageReference (imported by digest), by an image stream's tag, or as
-- the child of a list referenced there. The per-image verdict moves to each.
INSERT OR IGNORE INTO repositories (name)
SELECT substr(docker_image_reference, 1, instr(docker_image_reference, '@') - 1) FROM images
 WHERE instr(docker_image_reference, '@') > 0
UNION
SELECT substr(docker_image_reference, 1, instr(docker_image_reference, '@') - 1) FROM image_stream_tag_events
 WHERE instr(docker_image_reference, '@') > 0;

CREATE TEMP TABLE migrate_refs (repository_id INTEGER, image_name TEXT, PRIMARY KEY (repository_id, image_name)) WITHOUT ROWID;
WITH direct(repository_id, image_name) AS (
    SELECT repository_id, image_name FROM tags
    UNION SELECT r.id, i.name FROM images i
      JOIN repositories r ON r.name = substr(i.docker_image_reference, 1, instr(i.docker_image_reference, '@') - 1)
    UNION SELECT r.id, e.image FROM image_stream_tag_events e
      JOIN repositories r ON r.name = substr(e.docker_image_reference, 1, instr(e.docker_image_reference, '@') - 1))
INSERT OR IGNORE INTO migrate_refs
SELECT repository_id, image_name FROM direct
UNION SELECT d.repository_id, m.digest FROM direct d JOIN image_manifests m ON m.list_name = d.image_name
 WHERE m.digest IN (SELECT name FROM images);

INSERT INTO image_verdicts (repository_id, image_name, verdict, reason, evaluated_at, migrated)
SELECT x.repository_id, i.name, i.signature_verdict, coalesce(i.signature_reason, ''), i.creation_timestamp, 1
  FROM migrate_refs x JOIN images i ON i.name = x.image_name WHERE i.signature_verdict IS NOT NULL;

-- Signatures are kept with the repository they were found in. Those of an
-- older catalog go to every repository the image's verdict moved to (the
-- next run replaces them with what each repository's own lookup finds).
CREATE TABLE signatures_by_repository (
    image_name         TEXT NOT NULL REFERENCES images (name) ON DELETE CASCADE,
    repository_id      INTEGER NOT NULL REFERENCES repositories (id),
    name               TEXT NOT NULL,            -- <imageName>@<signatureName>
    position           INTEGER NOT NULL,         -- order found
    source             TEXT NOT NULL,            -- lookaside, extension, sigstore
    type               TEXT NOT NULL,            -- atomic, sigstore
    content            BLOB NOT NULL,            -- the signature blob (sigstore: the payload)
    sigstore_signature TEXT,
    certificate        TEXT,
    chain              TEXT,
    bundle             TEXT,
    trusted            TEXT NOT NULL,            -- condition Trusted: True, False, Unknown
    reason             TEXT NOT NULL DEFAULT '',
    signer             TEXT NOT NULL DEFAULT '',
    object             TEXT NOT NULL,            -- the ImageSignature JSON as served
    PRIMARY KEY (image_name, repository_id, name)
) WITHOUT ROWID;
INSERT INTO signatures_by_repository
SELECT s.image_name, v.repository_id, s.name, s.position, s.source, s.type, s.content, s.sigstore_signature,
       s.certificate, s.chain, s.bundle, s.trusted, s.reason, s.signer,
       json_set(s.object, '$.metadata.annotations."regimport.io/repository"', r.name)
  FROM signatures s JOIN image_verdicts v ON v.image_name = s.image_name JOIN repositories r ON r.id = v.repository_id;
DROP TABLE signatures;
ALTER TABLE signatures_by_repository RENAME TO signatures;
CREATE INDEX signatures_by_signer ON signatures (signer);
CREATE INDEX signatures_by_repository ON signatures (repository_id, image_name);
DROP TABLE temp.migrate_refs;
