-- The read cache's peers on PostgreSQL (src/db/changes.rs). On SQLite one process makes every
-- change, so its own writes are all its cache needs to know of: the table stays empty and is
-- here so that both databases have one schema.
CREATE TABLE read_cache_peers (
    id TEXT PRIMARY KEY,
    lease_until INTEGER NOT NULL
);
