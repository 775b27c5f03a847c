-- 0005: the catalog follows the registry. A tag the registry no longer lists
-- leaves `tags` (which holds only current tags) and gets a 'removed' event in
-- its history; a repository missing from a complete /v2/_catalog is marked
-- removed. Images are never deleted by a run, only by `regimport prune`, so
-- tag history must outlive the images it names: tag_events.image_name loses
-- its foreign key (SQLite cannot drop one in place, hence the copy).

CREATE TABLE tag_events_0005 (
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
INSERT INTO tag_events_0005 (id, repository_id, tag, image_name, docker_image_reference, created, run_id, event)
SELECT e.id, e.repository_id, e.tag, e.image_name, e.docker_image_reference, e.created, e.run_id,
       CASE WHEN EXISTS (SELECT 1 FROM tag_events p WHERE p.repository_id = e.repository_id AND p.tag = e.tag AND p.id < e.id)
            THEN 'moved' ELSE 'added' END
  FROM tag_events e;
DROP TABLE tag_events;
ALTER TABLE tag_events_0005 RENAME TO tag_events;
CREATE INDEX tag_events_by_tag ON tag_events (repository_id, tag, id);
CREATE INDEX tag_events_by_image ON tag_events (image_name);

-- A repository missing from a complete /v2/_catalog listing; cleared when
-- one of its tags is imported again.
ALTER TABLE repositories ADD COLUMN removed_at TEXT;
ALTER TABLE repositories ADD COLUMN removed_run INTEGER REFERENCES import_runs (id);
