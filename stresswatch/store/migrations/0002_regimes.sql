-- Regime models (rows kept by stresswatch/store/model_runs.py, decided by stresswatch/regimes.py):
-- one row per model run, probabilities per run and date.

-- A run is a fit ("cold" or "warm"-started refit) or a filter-only update ("filter") that reuses
-- the parameters of the fit run `base_run_id`. Parameters are stored relabelled (regime 0 calm,
-- last regime stress); `mapping[new] = optimiser label`. `transition` is column-stochastic,
-- [i][j] = P(S_t = i | S_{t-1} = j). One run per (model_id, asof); a re-run replaces it.
CREATE TABLE model_runs (
    id            INTEGER PRIMARY KEY,
    model_id      TEXT NOT NULL,
    asof          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('cold', 'warm', 'filter')),
    base_run_id   INTEGER REFERENCES model_runs(id) ON DELETE CASCADE,
    series_id     TEXT NOT NULL,
    params        TEXT NOT NULL,      -- JSON {name: value}
    llf           REAL NOT NULL,
    aic           REAL NOT NULL,
    bic           REAL NOT NULL,
    converged     INTEGER NOT NULL,
    accepted      INTEGER NOT NULL,
    fallback      INTEGER NOT NULL,   -- 1 = the fit was rejected and earlier accepted parameters were used
    reasons       TEXT NOT NULL,      -- JSON list: why candidate fits were rejected
    n             INTEGER NOT NULL,
    data_first    TEXT NOT NULL,
    data_last     TEXT NOT NULL,      -- last observation date used
    data_vintage  TEXT NOT NULL,      -- latest known_at among the observations used
    spec          TEXT NOT NULL,      -- JSON RegimeSpec
    spec_hash     TEXT NOT NULL,
    mapping       TEXT NOT NULL,      -- JSON list
    transition    TEXT NOT NULL,      -- JSON k x k
    durations     TEXT NOT NULL,      -- JSON list, periods
    pi_last       TEXT NOT NULL,      -- JSON list: filtered probabilities at data_last (forecast origin)
    detail        TEXT,               -- JSON: starts, seeds used, timings
    seconds       REAL NOT NULL,
    created_at    TEXT NOT NULL,
    UNIQUE (model_id, asof)
);
CREATE INDEX model_runs_model_asof ON model_runs(model_id, asof);

-- Filtered (real-time) and smoothed probabilities per regime (columns 0..3; unused ones NULL).
-- Fit runs store every date; filter runs store only the dates that are new or whose values
-- differ from their base run (readers overlay them on the base run's rows).
CREATE TABLE regime_probs (
    run_id    INTEGER NOT NULL REFERENCES model_runs(id) ON DELETE CASCADE,
    model_id  TEXT NOT NULL,
    date      TEXT NOT NULL,
    f0 REAL NOT NULL, f1 REAL NOT NULL, f2 REAL, f3 REAL,
    s0 REAL NOT NULL, s1 REAL NOT NULL, s2 REAL, s3 REAL,
    PRIMARY KEY (run_id, date)
) WITHOUT ROWID;
