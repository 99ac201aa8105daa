-- BLAST records of NuVs contigs, with their scheduling state and lease (spec/blast.md §4).
CREATE TABLE blast_records (
    id BIGINT PRIMARY KEY,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    sequence_index BIGINT NOT NULL,
    sequence TEXT NOT NULL,
    backend TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_checked_at BIGINT NOT NULL,
    interval BIGINT NOT NULL,
    rid TEXT,
    ready BIGINT NOT NULL,
    error TEXT,
    result TEXT,
    deadline_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    CONSTRAINT blast_records_contig_uq UNIQUE (analysis_id, sequence_index)
);
CREATE INDEX blast_records_pending ON blast_records (ready, error);
INSERT INTO counters (name, value) VALUES ('blast_records', 0);
