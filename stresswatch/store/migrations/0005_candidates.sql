-- GDELT event candidates: news articles that may become catalogue statements.
-- One row per URL (deduplicated); every query that matched the URL is kept in candidate_queries.
-- seen_at is UTC text 'YYYY-MM-DDTHH:MM:SSZ' so it sorts and compares as text.
CREATE TABLE IF NOT EXISTS gdelt_candidates (
    url            TEXT PRIMARY KEY,
    title          TEXT NOT NULL DEFAULT '',
    seen_at        TEXT NOT NULL,
    domain         TEXT NOT NULL DEFAULT '',
    language       TEXT NOT NULL DEFAULT '',
    source_country TEXT NOT NULL DEFAULT '',
    query_id       TEXT NOT NULL DEFAULT '',   -- the first query that found it
    stored_at      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gdelt_candidates_seen_at ON gdelt_candidates (seen_at);

CREATE TABLE IF NOT EXISTS gdelt_candidate_queries (
    url      TEXT NOT NULL REFERENCES gdelt_candidates (url) ON DELETE CASCADE,
    query_id TEXT NOT NULL,
    PRIMARY KEY (url, query_id)
);
CREATE INDEX IF NOT EXISTS gdelt_candidate_queries_query ON gdelt_candidate_queries (query_id);
