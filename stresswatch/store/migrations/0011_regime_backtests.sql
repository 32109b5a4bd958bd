-- Regime models in real time (issue 11; rows kept by stresswatch/store/model_runs.py and
-- stresswatch/store/backtests.py, decided by stresswatch/regimes/).

-- A run now stores what the next day needs (`state`: JSON policy state: parameters, the last
-- filtered probabilities, the refit clock) and one probability row, the day's answer: the model
-- period it refers to (`date` = data_last), the filtered regime probabilities (smoothed = filtered
-- at the last period), the state label (calm ... stress, or strengthening for a model with a
-- direction gate) and P(stress) after the gate. NULL in runs stored before: read as the most
-- likely regime and the stress regime's filtered probability.
ALTER TABLE model_runs ADD COLUMN state TEXT;
ALTER TABLE regime_probs ADD COLUMN regime TEXT;
ALTER TABLE regime_probs ADD COLUMN p_stress REAL;

-- A backtest: the deployment of one model (spec and policy, by their hashes) replayed from
-- `first_asof` (empty state) one business day at a time with only the data known each day.
-- Rows exist for every business day first_asof..last_asof; `state` is the policy state after
-- last_asof, where an extension resumes; `data_mark` is a digest of the input vintages known by
-- last_asof (a backfill or revision known by then invalidates the rows).
CREATE TABLE regime_backtests (
    id          INTEGER PRIMARY KEY,
    model_id    TEXT NOT NULL,
    spec_hash   TEXT NOT NULL,
    policy_hash TEXT NOT NULL,
    first_asof  TEXT NOT NULL,
    last_asof   TEXT,
    spec        TEXT NOT NULL,      -- JSON RegimeSpec
    policy      TEXT NOT NULL,      -- JSON policy settings
    state       TEXT,               -- JSON policy state after last_asof
    data_mark   TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (model_id, spec_hash, policy_hash, first_asof)
);

-- What the model said on business day `asof`: the model period answered (NULL: no answer yet),
-- the state, P(stress), the filtered regime probabilities, what the policy did and the day of the
-- fit whose parameters it used.
CREATE TABLE regime_backtest_rows (
    backtest_id INTEGER NOT NULL REFERENCES regime_backtests(id) ON DELETE CASCADE,
    asof        TEXT NOT NULL,
    date        TEXT,
    regime      TEXT,
    p_stress    REAL,
    f0 REAL, f1 REAL, f2 REAL, f3 REAL,
    action      TEXT NOT NULL,
    fit_asof    TEXT,
    PRIMARY KEY (backtest_id, asof)
) WITHOUT ROWID;
