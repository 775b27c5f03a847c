-- 0014: on SQLite, signatures, attestations and index_attestations stop
-- being WITHOUT ROWID tables, whose rows live in the primary key's B-tree
-- (see migrations/sqlite/0014_rowid_blob_tables.sql). PostgreSQL's tables
-- are heaps with their primary keys beside them already: nothing changes.
SELECT 1;
