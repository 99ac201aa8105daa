-- Reads, host genomes, index files, runners and claims (workflows.md §11). Flags are 0/1 integers,
-- timestamps microseconds since the epoch, lists and objects JSON text.

-- Uploads (§2): ids from the `uploads` counter, never reused.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    name_on_disk TEXT NOT NULL,
    type TEXT NOT NULL,
    size BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    reserved INTEGER NOT NULL DEFAULT 0,
    removed INTEGER NOT NULL DEFAULT 0,
    removed_at BIGINT
);
CREATE INDEX uploads_listing ON uploads (created_at DESC, id DESC);
INSERT INTO counters (name, value) VALUES ('uploads', 0);
-- Index and subtraction files share one id sequence (§11.3).
INSERT INTO counters (name, value) VALUES ('workflow_files', 0);

-- Samples with reads (§3.1). Placeholders keep the defaults.
ALTER TABLE samples ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE samples ADD COLUMN isolate TEXT NOT NULL DEFAULT '';
ALTER TABLE samples ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE samples ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE samples ADD COLUMN library_type TEXT NOT NULL DEFAULT 'normal';
ALTER TABLE samples ADD COLUMN subtraction_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE samples ADD COLUMN paired INTEGER NOT NULL DEFAULT 0;
ALTER TABLE samples ADD COLUMN ready INTEGER NOT NULL DEFAULT 0;
ALTER TABLE samples ADD COLUMN quality TEXT;
ALTER TABLE samples ADD COLUMN upload_ids TEXT NOT NULL DEFAULT '[]';
ALTER TABLE samples ADD COLUMN job_id TEXT;
CREATE INDEX samples_created ON samples (created_at DESC, id DESC);

-- A sample's stored reads: `reads_1.fq.gz` (id 1) and `reads_2.fq.gz` (id 2).
CREATE TABLE sample_reads (
    sample_id TEXT NOT NULL REFERENCES samples (id),
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_at BIGINT NOT NULL,
    uploaded_by_job TEXT,
    PRIMARY KEY (sample_id, name)
);

-- Subtractions with a host genome (§4). A label keeps upload_id NULL and ready 1.
ALTER TABLE subtractions ADD COLUMN upload_id INTEGER;
ALTER TABLE subtractions ADD COLUMN ready INTEGER NOT NULL DEFAULT 1;
ALTER TABLE subtractions ADD COLUMN count BIGINT;
ALTER TABLE subtractions ADD COLUMN gc TEXT;
ALTER TABLE subtractions ADD COLUMN job_id TEXT;
CREATE TABLE subtraction_files (
    id INTEGER PRIMARY KEY,
    subtraction_id TEXT NOT NULL REFERENCES subtractions (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by_job TEXT,
    UNIQUE (subtraction_id, name)
);

-- Index files (§5).
ALTER TABLE indexes ADD COLUMN has_files INTEGER NOT NULL DEFAULT 0;
ALTER TABLE indexes ADD COLUMN job_id TEXT;
CREATE TABLE index_files (
    id INTEGER PRIMARY KEY,
    index_id TEXT NOT NULL REFERENCES indexes (id),
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by_job TEXT,
    UNIQUE (index_id, name)
);

-- What J6 uploads as a job: discarded when the job is released or requeued (§1.3).
ALTER TABLE analysis_files ADD COLUMN uploaded_by_job TEXT;

-- Runner credentials (§7.1).
CREATE TABLE runners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_digest TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_claim_at BIGINT,
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX runners_active_name ON runners (name) WHERE revoked = 0;

-- The imported HMM profiles (U36): one row at most.
CREATE TABLE hmm_profiles (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    profile_count BIGINT NOT NULL,
    uploaded_at BIGINT NOT NULL
);

-- Jobs (§11.2): retries, the claiming runner, activity for the stall sweep.
ALTER TABLE jobs ADD COLUMN retries BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN runner_id TEXT;
ALTER TABLE jobs ADD COLUMN runner_name TEXT;
ALTER TABLE jobs ADD COLUMN activity_at BIGINT;
ALTER TABLE jobs ADD COLUMN watched INTEGER NOT NULL DEFAULT 0;
-- The claim walks waiting jobs oldest first.
CREATE INDEX jobs_waiting ON jobs (created_at, id) WHERE state = 'waiting' AND acquired = 0;
-- The stall sweep looks only at watched jobs in progress.
CREATE INDEX jobs_watched ON jobs (activity_at) WHERE watched = 1 AND state IN ('preparing', 'running');
