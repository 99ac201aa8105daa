-- A write that announced itself to the read cache's peers and publishes its token after it commits
-- (src/db/changes.rs, "quiet" writes: the claim) sets `vira.announced` in its transaction: its row
-- triggers notify nothing. A transaction that notifies holds PostgreSQL's notification lock from
-- before its commit until after it (WAL flush included), so notifying writers commit one at a time.
CREATE OR REPLACE FUNCTION vira_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('vira.announced', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_notify('vira_changes', '');
    END IF;
    RETURN NULL;
END;
$$;

-- Every status entry touches the job's analysis, if any.
CREATE INDEX analyses_job ON analyses (job_id);
