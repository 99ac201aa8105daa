-- (PostgreSQL's 0012 also quiets the change triggers of announced writes; SQLite has none.)
-- Every status entry touches the job's analysis, if any.
CREATE INDEX analyses_job ON analyses (job_id);
