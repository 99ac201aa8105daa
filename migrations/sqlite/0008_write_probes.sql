-- Readiness proves that a write commits and is seen by a read: each instance upserts its row with a
-- fresh token through the write connection and reads it back (src/ops/health.rs).
CREATE TABLE write_probes (
    instance TEXT PRIMARY KEY,
    token TEXT NOT NULL,
    written_at BIGINT NOT NULL
);
