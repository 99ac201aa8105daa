-- Quiet writes (src/db/changes.rs): the claim sets `vira.announced` in its transaction and its
-- row triggers notify nothing, because a transaction that notifies holds PostgreSQL's
-- notification lock from before its commit until after it (WAL flush included), so notifying
-- writers commit one at a time. The condition is the trigger's own, so a quiet write queues no
-- trigger event at all.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOR t IN
        SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
        WHERE g.tgname = 'vira_changes' AND c.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('DROP TRIGGER vira_changes ON %I', t);
        EXECUTE format('CREATE TRIGGER vira_changes AFTER INSERT OR UPDATE OR DELETE ON %I '
            'FOR EACH ROW WHEN (current_setting(''vira.announced'', true) IS DISTINCT FROM ''on'') '
            'EXECUTE FUNCTION vira_notify_change()', t);
    END LOOP;
END;
$$;

-- For a quiet write while this instance (`peer`) may be the only one that caches: take the lock
-- that joining peers take alone, shared until the transaction ends (after its commit is
-- visible), and say whether no other peer holds a live lease now. Its statements read with
-- snapshots of their own, taken after the lock: a peer that registered before is seen, one that
-- registers later joins after this transaction.
CREATE FUNCTION vira_alone(peer TEXT) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(8532476731634836328);
    RETURN NOT EXISTS (SELECT 1 FROM read_cache_peers p
        WHERE p.id <> peer AND p.lease_until > vira_clock_us());
END;
$$;

-- Every status entry touches the job's analysis, if any.
CREATE INDEX analyses_job ON analyses (job_id);
