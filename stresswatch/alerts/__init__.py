"""Alerts: deciding *what* to mail about the state of the data, run date by run date.

The package owns the alert rules, the per-alert state machine and the per-run digest; the rows
(alert states, their history, silences) are kept by `stresswatch.store.alerts`, and the message
is built and delivered by `stresswatch.mail` (alerts -> mail only; mail never imports alerts).

- `rules`: `Rule`, `load_rules`, `default_rules` (`[[alerts.rules]]`, whose fields, defaults and
  allowed kinds are declared once in stresswatch.settings).
- `machine`: the pure part: `Signal`, `AlertState`, `advance` (inactive -> pending -> firing ->
  resolved), `rewind` (back to the state before a date, for re-evaluating it), `Digest`,
  `plan_digest`, `fingerprint`. No store, no I/O.
- `evaluators`: one evaluator per rule kind, reading the store as of the run date (the regime
  rule through the regime read model, `regimes.state.RegimeState`).
- `run`: `evaluate` and `run_alerts` (states, history and the queued digest in one transaction;
  re-evaluating a date whose data changed), `list_alerts`, history and silences.

Nothing is re-exported here: import from the submodules.
"""
