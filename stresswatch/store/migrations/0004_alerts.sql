-- Alerts, the mail outbox and the daemon's own state (kept by stresswatch/store/alerts.py, outbox.py,
-- daemon_state.py; used by stresswatch/alerts.py, mail.py, daemon.py).

-- One row per alert instance: a rule plus its labels, identified by a fingerprint
-- (sha256 of the rule id and the sorted labels). States: inactive, pending, firing, resolved.
-- high_count / low_count count consecutive evaluations above `enter` / below `exit` (hysteresis).
-- notified_state is what the last mail (or the mail-off log) said about the alert: firing, resolved or NULL.
CREATE TABLE alert_state (
    fingerprint        TEXT PRIMARY KEY,
    rule_id            TEXT NOT NULL,
    labels             TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
    high_count         INTEGER NOT NULL DEFAULT 0,
    low_count          INTEGER NOT NULL DEFAULT 0,
    pending_since      TEXT,
    firing_since       TEXT,
    resolved_on        TEXT,
    last_eval_date     TEXT,
    last_value         REAL,
    summary            TEXT NOT NULL DEFAULT '',
    muted_by           TEXT,
    notified_state     TEXT,
    last_notified_date TEXT,
    updated_at         TEXT NOT NULL
);
CREATE INDEX alert_state_rule ON alert_state(rule_id);

-- Every state change, by run date.
CREATE TABLE alert_history (
    id          INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    rule_id     TEXT NOT NULL,
    labels      TEXT NOT NULL,
    run_date    TEXT NOT NULL,
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    value       REAL,
    summary     TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL
);
CREATE INDEX alert_history_date ON alert_history(run_date, id);

-- Silences: a rule is not notified for run dates from starts_on through ends_on (inclusive).
CREATE TABLE silences (
    id         INTEGER PRIMARY KEY,
    rule_id    TEXT NOT NULL,
    starts_on  TEXT NOT NULL,
    ends_on    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    comment    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX silences_rule ON silences(rule_id, ends_on);

-- The mail outbox: a message is written here in the same transaction as the alert-state change
-- and delivered afterwards. dedup_key (e.g. digest:2022-02-25) makes a rerun a no-op.
-- pending_recipients: JSON list of addresses still to deliver (refused ones are retried alone).
CREATE TABLE outbox (
    id                 INTEGER PRIMARY KEY,
    dedup_key          TEXT NOT NULL UNIQUE,
    run_date           TEXT,
    created_at         TEXT NOT NULL,
    sender             TEXT NOT NULL,
    recipients         TEXT NOT NULL,
    pending_recipients TEXT NOT NULL,
    subject            TEXT NOT NULL,
    mime               BLOB NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    last_error         TEXT,
    sent_at            TEXT
);
CREATE INDEX outbox_due ON outbox(status, next_attempt_at);

-- The daemon's last and next run, catch-up progress and the like (key -> JSON value).
CREATE TABLE daemon_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
