-- Event-study alignments: what the daily cycle's events step computed for a date D (the catalogue
-- aligned with the stress index, the ruble and the headline model as known on D), so the report
-- for D reads it instead of running the placebo study again. Rewriting D replaces D's rows.

CREATE TABLE alignments (
    asof       TEXT PRIMARY KEY,         -- D
    model_id   TEXT NOT NULL,            -- headline regime model used for the regime fields
    statistic  TEXT NOT NULL,            -- abnormal (stress index) or car_rub (no index)
    warnings   TEXT NOT NULL,            -- JSON list of texts
    inputs     TEXT NOT NULL,            -- fingerprint of the study settings, catalogue and confounders
    created_at TEXT NOT NULL
);

-- One row per statement known on D, in catalogue order.
CREATE TABLE alignment_statements (
    asof              TEXT NOT NULL REFERENCES alignments (asof) ON DELETE CASCADE,
    statement_id      TEXT NOT NULL,
    position          INTEGER NOT NULL,
    date              TEXT NOT NULL,
    t0                TEXT,              -- event day on the index calendar, NULL when not in the data
    t0_fx             TEXT,              -- event day on the Bank of Russia fixing calendar
    speaker           TEXT,
    key_phrase        TEXT,
    tags              TEXT,              -- comma-separated
    regime            TEXT,
    p_stress_filtered REAL,
    p_stress_smoothed REAL,
    index_value       REAL,
    index_percentile  REAL,
    d_index           REAL,
    abnormal          REAL,
    pre_trend         REAL,
    car_rub           REAL,
    statistic         REAL,
    p_value           REAL,
    q_value           REAL,
    confounded        INTEGER NOT NULL,
    confounders       TEXT,              -- comma-separated confounder ids
    match             TEXT,              -- placebo matching level
    pool              INTEGER,           -- placebo pool size
    PRIMARY KEY (asof, statement_id)
);

-- The per-group aggregates (all, clean, tag:<t>), in the study's order.
CREATE TABLE alignment_aggregates (
    asof          TEXT NOT NULL REFERENCES alignments (asof) ON DELETE CASCADE,
    group_name    TEXT NOT NULL,
    position      INTEGER NOT NULL,
    n             INTEGER NOT NULL,
    n_used        INTEGER NOT NULL,
    mean_abnormal REAL,
    mean_d_index  REAL,
    mean_car_rub  REAL,
    confounded    INTEGER NOT NULL,
    p_value       REAL,
    PRIMARY KEY (asof, group_name)
);
