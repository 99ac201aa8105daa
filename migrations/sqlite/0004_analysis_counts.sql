-- Analyses counted per rights class of their sample (owner, group, group_read, all_read), kept by
-- triggers, so that U1's found_count reads a few rows instead of counting every readable analysis.
-- `group_id` is '' for a sample without a group (a key column cannot be NULL).
CREATE TABLE analysis_counts (
    owner_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    group_read INTEGER NOT NULL,
    all_read INTEGER NOT NULL,
    analyses INTEGER NOT NULL,
    PRIMARY KEY (owner_id, group_id, group_read, all_read)
);

INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
SELECT s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read, COUNT(*)
FROM analyses a JOIN samples s ON s.id = a.sample_id
GROUP BY s.user_id, COALESCE(s.group_id, ''), s.group_read, s.all_read;

CREATE TRIGGER analysis_counts_analysis_insert AFTER INSERT ON analyses BEGIN
    INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
    SELECT user_id, COALESCE(group_id, ''), group_read, all_read, 1 FROM samples WHERE id = NEW.sample_id
    ON CONFLICT (owner_id, group_id, group_read, all_read) DO UPDATE SET analyses = analyses + 1;
END;

CREATE TRIGGER analysis_counts_analysis_delete AFTER DELETE ON analyses BEGIN
    UPDATE analysis_counts SET analyses = analyses - 1
    WHERE (owner_id, group_id, group_read, all_read) IN
        (SELECT user_id, COALESCE(group_id, ''), group_read, all_read FROM samples WHERE id = OLD.sample_id);
END;

-- A sample's rights change moves its analyses to their new class.
CREATE TRIGGER analysis_counts_sample_update AFTER UPDATE OF user_id, group_id, group_read, all_read ON samples BEGIN
    UPDATE analysis_counts SET analyses = analyses - (SELECT COUNT(*) FROM analyses WHERE sample_id = OLD.id)
    WHERE owner_id = OLD.user_id AND group_id = COALESCE(OLD.group_id, '')
        AND group_read = OLD.group_read AND all_read = OLD.all_read;
    INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
    VALUES (NEW.user_id, COALESCE(NEW.group_id, ''), NEW.group_read, NEW.all_read,
        (SELECT COUNT(*) FROM analyses WHERE sample_id = NEW.id))
    ON CONFLICT (owner_id, group_id, group_read, all_read) DO UPDATE SET analyses = analyses + excluded.analyses;
END;

-- Analyses of a missing sample are not listed, so they are not counted either.
CREATE TRIGGER analysis_counts_sample_delete AFTER DELETE ON samples BEGIN
    UPDATE analysis_counts SET analyses = analyses - (SELECT COUNT(*) FROM analyses WHERE sample_id = OLD.id)
    WHERE owner_id = OLD.user_id AND group_id = COALESCE(OLD.group_id, '')
        AND group_read = OLD.group_read AND all_read = OLD.all_read;
END;

CREATE TRIGGER analysis_counts_sample_insert AFTER INSERT ON samples BEGIN
    INSERT INTO analysis_counts (owner_id, group_id, group_read, all_read, analyses)
    SELECT NEW.user_id, COALESCE(NEW.group_id, ''), NEW.group_read, NEW.all_read, COUNT(*)
    FROM analyses WHERE sample_id = NEW.id
    ON CONFLICT (owner_id, group_id, group_read, all_read) DO UPDATE SET analyses = analyses + excluded.analyses;
END;
