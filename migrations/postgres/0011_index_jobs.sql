-- Indexes that existed before `build_index` (workflows §5.1 "Upgrade"): the highest-version index
-- of each reference gets a waiting `build_index` job (user = the index's creator, args of §1.1
-- with the manifest in snapshot order); older indexes keep `job_id` NULL and are never built.
UPDATE indexes SET job_id = substr(md5(random()::text || clock_timestamp()::text || indexes.id), 1, 8)
WHERE job_id IS NULL AND version = (SELECT MAX(o.version) FROM indexes o WHERE o.ref_id = indexes.ref_id);

-- `json` (not `jsonb`) keeps the keys in the order they are built.
INSERT INTO jobs (id, workflow, args, acquired, key_digest, user_id, pinged_at, state, stage, progress, created_at)
SELECT i.job_id, 'build_index',
    json_build_object(
        'ref_id', i.ref_id,
        'user_id', i.user_id,
        'index_id', i.id,
        'index_version', i.version,
        'manifest', COALESCE((
            SELECT json_object_agg(x.otu_id, (x.summary::json ->> 'version')::bigint ORDER BY x.position)
            FROM index_otus x WHERE x.index_id = i.id
        ), '{}'::json)
    )::text,
    0, NULL, i.user_id, NULL::bigint, 'waiting', NULL, 0, (extract(epoch FROM now()) * 1000000)::bigint
FROM indexes i
WHERE i.job_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.job_id);

INSERT INTO job_status (job_id, position, state, stage, step_name, step_description, error, progress, timestamp)
SELECT j.id, 0, 'waiting', NULL, NULL, NULL, NULL, 0, j.created_at
FROM jobs j JOIN indexes i ON i.job_id = j.id
WHERE NOT EXISTS (SELECT 1 FROM job_status s WHERE s.job_id = j.id);
