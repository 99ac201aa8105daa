-- BLAST records of NuVs contigs, with their scheduling state and lease (spec/blast.md §4).
CREATE TABLE blast_records (
    id INTEGER PRIMARY KEY,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    sequence_index INTEGER NOT NULL,
    sequence TEXT NOT NULL,
    backend TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_checked_at INTEGER NOT NULL,
    interval INTEGER NOT NULL,
    rid TEXT,
    ready INTEGER NOT NULL,
    error TEXT,
    result TEXT,
    deadline_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    CONSTRAINT blast_records_contig_uq UNIQUE (analysis_id, sequence_index)
);
CREATE INDEX blast_records_pending ON blast_records (ready, error);
INSERT INTO counters (name, value) VALUES ('blast_records', 0);
