-- Re-evaluating a run date (issue 13): per alert, the state-machine fields it had before it was
-- first evaluated on its last_eval_date (JSON: state, counts, since-dates, value, summary,
-- muted_by). When new data arrive for that same date, the alert is evaluated again from this
-- base, so nothing is counted twice. NULL = not recorded (evaluated before this migration).
ALTER TABLE alert_state ADD COLUMN eval_base TEXT
