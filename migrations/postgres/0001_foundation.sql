-- Foundation schema (PostgreSQL). Timestamps are microseconds since the Unix epoch; flags are 0/1.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    administrator BIGINT NOT NULL,
    key_digest TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE user_groups (
    user_id TEXT NOT NULL REFERENCES users (id),
    group_id TEXT NOT NULL REFERENCES groups (id),
    position BIGINT NOT NULL,
    PRIMARY KEY (user_id, group_id)
);
CREATE TABLE samples (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    user_id TEXT NOT NULL,
    group_id TEXT,
    group_read BIGINT NOT NULL,
    group_write BIGINT NOT NULL,
    all_read BIGINT NOT NULL,
    all_write BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE subtractions (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    nickname TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE refs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    data_type TEXT NOT NULL,
    organism TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    otu_count BIGINT NOT NULL,
    isolate_count BIGINT NOT NULL,
    sequence_count BIGINT NOT NULL
);
CREATE TABLE ref_otus (
    ref_id TEXT NOT NULL REFERENCES refs (id),
    otu_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    summary TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (ref_id, otu_id)
);
CREATE TABLE indexes (
    id TEXT PRIMARY KEY,
    ref_id TEXT NOT NULL REFERENCES refs (id),
    version BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    otu_count BIGINT NOT NULL,
    sequence_count BIGINT NOT NULL,
    UNIQUE (ref_id, version)
);
CREATE TABLE index_otus (
    index_id TEXT NOT NULL REFERENCES indexes (id),
    otu_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    summary TEXT NOT NULL,
    PRIMARY KEY (index_id, otu_id)
);
CREATE TABLE hmm_annotations (
    id TEXT PRIMARY KEY,
    cluster BIGINT NOT NULL,
    summary TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    args TEXT NOT NULL,
    acquired BIGINT NOT NULL,
    key_digest TEXT,
    user_id TEXT NOT NULL,
    pinged_at BIGINT,
    state TEXT NOT NULL,
    stage TEXT,
    progress BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE job_status (
    job_id TEXT NOT NULL REFERENCES jobs (id),
    position BIGINT NOT NULL,
    state TEXT NOT NULL,
    stage TEXT,
    step_name TEXT,
    step_description TEXT,
    error TEXT,
    progress BIGINT NOT NULL,
    timestamp BIGINT NOT NULL,
    PRIMARY KEY (job_id, position)
);
CREATE TABLE analyses (
    id TEXT PRIMARY KEY,
    sample_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    workflow TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    index_id TEXT NOT NULL,
    subtractions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    ready BIGINT NOT NULL,
    read_count BIGINT
);
CREATE INDEX analyses_created ON analyses (created_at DESC, id DESC);
CREATE INDEX analyses_sample ON analyses (sample_id, created_at DESC, id DESC);
CREATE TABLE analysis_results (
    analysis_id TEXT PRIMARY KEY REFERENCES analyses (id),
    raw BYTEA NOT NULL,
    prepared BYTEA NOT NULL,
    export_rows BYTEA NOT NULL
);
CREATE TABLE analysis_files (
    id BIGINT PRIMARY KEY,
    analysis_id TEXT NOT NULL REFERENCES analyses (id),
    name TEXT NOT NULL,
    name_on_disk TEXT NOT NULL,
    format TEXT,
    size BIGINT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    CONSTRAINT analysis_files_name_uq UNIQUE (analysis_id, name)
);
-- Monotonic counters for integer ids that must never be reused (analysis files, BLAST records).
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('analysis_files', 0);
