-- The read cache's coherence across instances (src/db/changes.rs says the whole protocol).

-- Instances that serve reads from memory, each with a lease it renews; `lease_until` is in
-- microseconds since the epoch by this server's clock, as every comparison with it is.
CREATE TABLE read_cache_peers (
    id TEXT PRIMARY KEY,
    lease_until BIGINT NOT NULL
);

CREATE FUNCTION vira_clock_us() RETURNS BIGINT LANGUAGE sql VOLATILE AS $$
    SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT
$$;

-- Every committed change of a row a cached read may show is announced on `vira_changes`, whoever
-- made it (PostgreSQL sends identical notifications of one transaction once).
CREATE FUNCTION vira_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('vira_changes', '');
    RETURN NULL;
END;
$$;

-- On every table but those no cached read shows: sessions and sign-in failures (checked per
-- request), the file id counter, the counts kept by triggers of tables that notify themselves,
-- and the peers. A later table needs its own trigger (tests/api/read_cache.rs checks).
DO $$
DECLARE
    t TEXT;
BEGIN
    FOR t IN
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
            AND table_name NOT IN ('_sqlx_migrations', 'vira_migrations', 'sessions',
                'login_failures', 'counters', 'analysis_counts', 'read_cache_peers')
    LOOP
        EXECUTE format('CREATE TRIGGER vira_changes AFTER INSERT OR UPDATE OR DELETE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION vira_notify_change()', t);
    END LOOP;
END;
$$;

-- After a request wrote (and committed): announce `token`, and name the peers whose lease is
-- live, with how long it still runs; the writer waits for each to acknowledge the token. The
-- advisory lock, shared here, is taken alone by a joining peer, so a publish that did not see a
-- peer's row has ended before that peer trusts its cache. The peers are read by a statement of
-- their own, after the lock, so with a snapshot of their own.
CREATE FUNCTION vira_publish(token TEXT) RETURNS TABLE (peer TEXT, remaining_us BIGINT)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(8532476731634836328);
    PERFORM pg_notify('vira_changes', token);
    RETURN QUERY SELECT p.id, p.lease_until - vira_clock_us() FROM read_cache_peers p
        WHERE p.lease_until > vira_clock_us();
END;
$$;
