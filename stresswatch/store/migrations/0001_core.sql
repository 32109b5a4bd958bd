-- Core tables: series metadata, observations with vintages, the raw payload archive, the run ledger.

CREATE TABLE series (
    id                   TEXT PRIMARY KEY,
    source               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    unit                 TEXT NOT NULL,
    frequency            TEXT NOT NULL,
    publication_lag_days INTEGER NOT NULL DEFAULT 0,
    updated_at           TEXT NOT NULL
);

-- One row per (series, date, vintage). known_at = the date the value became known:
-- observation date + publication lag for history fetched after the fact, fetch date for live
-- fetches and for revisions. A read "as of D" takes, per date, the latest vintage with known_at <= D.
CREATE TABLE observations (
    series_id  TEXT NOT NULL REFERENCES series(id),
    date       TEXT NOT NULL,
    known_at   TEXT NOT NULL,
    value      REAL NOT NULL,
    fetched_at TEXT NOT NULL,
    payload_id INTEGER REFERENCES raw_payloads(id),
    PRIMARY KEY (series_id, date, known_at)
) WITHOUT ROWID;

-- Every HTTP response body, zlib-compressed, stored before it is parsed.
CREATE TABLE raw_payloads (
    id             INTEGER PRIMARY KEY,
    source         TEXT NOT NULL,
    url            TEXT NOT NULL,      -- secrets redacted
    request_json   TEXT NOT NULL,      -- the Request (method, url, params, context), secrets redacted
    status         INTEGER NOT NULL,
    content_type   TEXT NOT NULL DEFAULT '',
    sha256         TEXT NOT NULL,
    size           INTEGER NOT NULL,
    body           BLOB NOT NULL,
    fetched_at     TEXT NOT NULL,
    parser_version TEXT NOT NULL,
    job            TEXT NOT NULL DEFAULT '',
    partition      TEXT NOT NULL DEFAULT '',
    UNIQUE (source, sha256, request_json)
);
CREATE INDEX raw_payloads_source ON raw_payloads(source, fetched_at);

-- The run ledger: one row per (job, partition). Fetch jobs are "fetch:<source>" with a
-- calendar window as partition; the daily cycle uses "day:<step>" with the date.
CREATE TABLE runs (
    job          TEXT NOT NULL,
    partition    TEXT NOT NULL,
    window_start TEXT,
    window_end   TEXT,
    covered_from TEXT,
    covered_to   TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'skipped')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    rows         INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    detail       TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    last_success TEXT,
    PRIMARY KEY (job, partition)
);
