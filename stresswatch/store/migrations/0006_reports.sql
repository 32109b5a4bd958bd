-- Reports: rendered reports with their headline state, and point-in-time snapshots of the
-- (unversioned) run ledger so a report for D keeps the freshness facts known on D.

CREATE TABLE report_index (
    date         TEXT NOT NULL,          -- report date D
    out_dir      TEXT NOT NULL,          -- reports folder it was written to
    generated_at TEXT NOT NULL,
    regime       TEXT,                   -- headline regime label, NULL when no model run existed
    p_stress     REAL,                   -- filtered P(stress) on D
    formats      TEXT NOT NULL,          -- comma-separated: html,md,json
    warnings     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (date, out_dir)
);

-- Ledger facts per source as of the end of D (frozen once D is over).
CREATE TABLE report_ledger_snapshots (
    date          TEXT NOT NULL,
    source        TEXT NOT NULL,
    last_success  TEXT,
    last_error    TEXT,
    last_error_at TEXT,
    failed        INTEGER NOT NULL DEFAULT 0,
    taken_at      TEXT NOT NULL,
    PRIMARY KEY (date, source)
);
