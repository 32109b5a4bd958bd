-- Guards on data coming in (issue 14): quarantined values, what the archive records besides a
-- body, and an `interrupted` status for ledger rows (a partition stopped by SIGTERM).

-- Values a plausibility rule refused (stresswatch/plausibility.py); never observations.
-- value is the number as text (repr: "inf", "1e+300"), which keeps what REAL would turn into NULL.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    series_id   TEXT NOT NULL,
    date        TEXT NOT NULL,
    value       TEXT NOT NULL,
    reason      TEXT NOT NULL,
    payload_id  INTEGER REFERENCES raw_payloads(id),
    fetched_at  TEXT NOT NULL,
    UNIQUE (series_id, date, value, payload_id)
);
CREATE INDEX quarantine_source ON quarantine(source, fetched_at);

-- Payload metadata as JSON: final_url and redirects (a redirected answer), truncated / limit /
-- received (an answer over max_body_mb, archived without its body), span (the dates asked for).
ALTER TABLE raw_payloads ADD COLUMN meta TEXT;

-- The ledger's status may now be `interrupted` (SQLite cannot alter a CHECK: the table is rebuilt).
CREATE TABLE runs_new (
    job          TEXT NOT NULL,
    partition    TEXT NOT NULL,
    window_start TEXT,
    window_end   TEXT,
    covered_from TEXT,
    covered_to   TEXT,
    status       TEXT NOT NULL CHECK (status IN ('running', 'success', 'failed', 'skipped', 'interrupted')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    rows         INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    detail       TEXT,
    started_at   TEXT,
    finished_at  TEXT,
    last_success TEXT,
    PRIMARY KEY (job, partition)
);
INSERT INTO runs_new SELECT job, partition, window_start, window_end, covered_from, covered_to, status, attempts,
    rows, error, detail, started_at, finished_at, last_success FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
