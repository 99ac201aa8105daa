-- Analyses counted per rights class of their sample (owner, group, group_read, all_read), kept by
-- triggers, so that U1's found_count reads a few rows instead of counting every readable analysis.
-- `group_id` is '' for a sample without a group (a key column cannot be NULL).
CREATE TABLE analysis_counts (
    owner_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    group_read BIGINT NOT NULL,
    all_read BIGINT NOT NULL,
    analyses BIGINT NOT NULL,
    PRIMARY KEY (owner_id, group_id, group_read, all_read)
);

INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
SELECT s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read, COUNT(*)
FROM analyses a JOIN samples s ON s.id = a.sample_id
GROUP BY s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read;

CREATE FUNCTION analysis_counts_add(owner TEXT, grp TEXT, gr BIGINT, ar BIGINT, delta BIGINT)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
    VALUES (owner, COALESCE(grp, ''), gr, ar, delta)
    ON CONFLICT (owner_id, group_id, group_read, all_read)
    DO UPDATE SET analyses = analysis_counts.analyses + EXCLUDED.analyses;
$$;

-- Statement triggers with transition tables: one counter update per statement and class, so a
-- bulk insert does not leave a dead version of the counter row per analysis. The samples are
-- read FOR SHARE, so a concurrent change of their rights (which locks them) is either wholly
-- before these analyses are counted or counts them when it moves the sample's analyses.
CREATE FUNCTION analysis_counts_on_analyses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM samples WHERE id IN (SELECT sample_id FROM changed) FOR SHARE;
        INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
        SELECT s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read, COUNT(*)
        FROM changed c JOIN samples s ON s.id = c.sample_id
        GROUP BY s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read
        ON CONFLICT (owner_id, group_id, group_read, all_read)
        DO UPDATE SET analyses = analysis_counts.analyses + EXCLUDED.analyses;
    ELSE
        PERFORM 1 FROM samples WHERE id IN (SELECT sample_id FROM changed) FOR SHARE;
        UPDATE analysis_counts k SET analyses = k.analyses - d.n
        FROM (SELECT s.user_id, COALESCE(s.group_id, '') AS group_id, s.group_read, s.all_read,
                     COUNT(*) AS n
              FROM changed c JOIN samples s ON s.id = c.sample_id
              GROUP BY s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read) d
        WHERE k.owner_id = d.user_id AND k.group_id = d.group_id
            AND k.group_read = d.group_read AND k.all_read = d.all_read;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER analysis_counts_analysis_insert AFTER INSERT ON analyses
REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analysis_counts_on_analyses();
CREATE TRIGGER analysis_counts_analysis_delete AFTER DELETE ON analyses
REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION analysis_counts_on_analyses();

-- A sample's rights change moves its analyses to their new class; analyses of a missing sample
-- are not listed, so they are not counted either.
CREATE FUNCTION analysis_counts_on_sample() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM analysis_counts_add(OLD.user_id, OLD.group_id, OLD.group_read, OLD.all_read,
            -(SELECT COUNT(*) FROM analyses WHERE sample_id = OLD.id));
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM analysis_counts_add(NEW.user_id, NEW.group_id, NEW.group_read, NEW.all_read,
            (SELECT COUNT(*) FROM analyses WHERE sample_id = NEW.id));
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER analysis_counts_sample AFTER INSERT OR DELETE OR UPDATE OF user_id, group_id, group_read, all_read
ON samples FOR EACH ROW EXECUTE FUNCTION analysis_counts_on_sample();
