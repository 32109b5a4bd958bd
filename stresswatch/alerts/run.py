"""One alert run for a date D, and what the CLI reads back: states, history, silences.

`run_alerts` evaluates every rule for D (`evaluate`), advances the state machine, plans the digest
and stores the new states, their changes and the digest message (queued in the outbox through
`stresswatch.mail`) in one store transaction. Everything is evaluated with data known on D
(`asof=D`), never `now()`; evaluating a date at or before an alert's last evaluated date changes
nothing (reruns are no-ops) -- unless the caller asks to *re-evaluate* D.

Re-evaluating D (`reevaluate=True`: the daily cycle does so when fetch or compute wrote data for D
in the same call, or on `run --force`): an alert whose last evaluated date is D is evaluated again
from the state it had *before* D was first evaluated (its stored `eval_base`), so a consecutive
count is never advanced twice for one date. What was mailed is not rewound: the notification
fields (`notified_state`, `last_notified_date`) stay as they are, so the re-evaluated digest
notifies only what differs from what the recipients were told. An alert evaluated for a later
date than D keeps its state (D cannot be changed under it), as does one without a stored base.

One digest per evaluation of D: the first is queued with dedup key `digest:<D>`, a digest of a
re-evaluation of D that has something new to say as `digest:<D>#2`, `#3`, ... with "revised" in
its subject. A digest is only planned when an alert's notified state changes, so the same news is
never queued twice.

A rule that cannot be evaluated (a typed StresswatchError, or pandas/numpy trouble on odd data)
never hides the others: its alerts keep the state they had (not evaluated on D, so a rerun tries
again), the failure is logged, and after the other rules' results are stored `run_alerts` raises
AlertRuleError naming every failed rule, so the daily cycle records the step as failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from stresswatch.alerts.evaluators import EVALUATORS
from stresswatch.alerts.machine import MACHINE_FIELDS, AlertState, Digest, Signal, advance, plan_digest, rewind
from stresswatch.alerts.rules import Rule, load_rules
from stresswatch.clock import utc_stamp
from stresswatch.errors import AlertRuleError, StresswatchError, UsageError
from stresswatch.mail.delivery import enqueue
from stresswatch.mail.message import build_digest_message
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.alerts import AlertStateRow, HistoryRow, SilenceRow, labels_json

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


# ---------------------------------------------------------------------------------------------
# Stored states, history, silences
# ---------------------------------------------------------------------------------------------
def _from_row(row: AlertStateRow) -> AlertState:
    data = dataclasses.asdict(row)
    data.pop("eval_base")
    return AlertState(**data)


def _to_row(st: AlertState, eval_base: dict[str, Any] | None) -> AlertStateRow:
    return AlertStateRow(**{**dataclasses.asdict(st), "labels": dict(st.labels)}, eval_base=eval_base)


def read_states(store: Store) -> dict[str, AlertState]:
    """Every stored alert by fingerprint."""
    return {row.fingerprint: _from_row(row) for row in store.alerts.states()}


def _eval_bases(store: Store) -> dict[str, dict[str, Any]]:
    """Per alert, its state-machine fields before the first evaluation on its last evaluated date."""
    return {row.fingerprint: row.eval_base for row in store.alerts.states() if row.eval_base is not None}


def _machine_fields(st: AlertState) -> dict[str, Any]:
    return {name: getattr(st, name) for name in MACHINE_FIELDS}


def active_silences(store: Store, day: dt.date) -> set[str]:
    """Rules silenced on `day`."""
    return store.alerts.silenced_rules(day)


def add_silence(store: Store, rule_id: str, until: dt.date, starts: dt.date, clock: Clock,
                created_by: str = "", comment: str = "", known_rules: Iterable[str] | None = None) -> int:
    """Silence `rule_id` for run dates `starts`..`until` (inclusive); returns the silence id.

    UsageError when the rule is not one of `known_rules` or the silence would end before it starts."""
    if known_rules is not None and rule_id not in set(known_rules):
        raise UsageError(f"no alert rule {rule_id!r}; rules: {', '.join(sorted(known_rules))}")
    if until < starts:
        raise UsageError(f"the silence would end ({until}) before it starts ({starts})")
    return store.alerts.add_silence(rule_id, starts, until, utc_stamp(clock()), created_by, comment)


def list_silences(store: Store) -> list[SilenceRow]:
    """Every silence, latest end first."""
    return store.alerts.silences()


def history(store: Store, rule_id: str | None = None, limit: int | None = None) -> list[HistoryRow]:
    """State changes, newest run date first."""
    return store.alerts.history(rule_id, limit)


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------
@dataclass
class Evaluated:
    """Every rule evaluated for one day: the new states (not yet stored), the state changes, the
    rules by id, and the rules that could not be evaluated (rule id -> why)."""

    states: list[AlertState]
    transitions: list[tuple[AlertState, AlertState]]
    rules: dict[str, Rule]
    failures: dict[str, str] = field(default_factory=dict)
    #: per alert, the base to store with its state (see the module docstring)
    bases: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    #: alerts evaluated again from their base (re-evaluation of the day)
    reevaluated: list[str] = field(default_factory=list)
    #: alerts that kept their state on a re-evaluation, and why (fingerprint -> reason)
    kept: dict[str, str] = field(default_factory=dict)


@dataclass
class Evaluation:
    """What `run_alerts` did for one day."""

    day: dt.date
    digest: Digest
    transitions: list[tuple[AlertState, AlertState]]
    states: list[AlertState]
    queued: bool = False
    skipped_reason: str = ""
    #: rule id -> why it could not be evaluated (its alerts kept their state)
    failures: dict[str, str] = field(default_factory=dict)
    #: the outbox dedup key of the digest queued by this run ("" when none)
    dedup_key: str = ""
    #: this run evaluated the day again (see the module docstring)
    reevaluated: bool = False
    #: alerts that kept their state on a re-evaluation: "rule_id: reason"
    kept: list[str] = field(default_factory=list)


def evaluate(store: Store, settings: Settings, day: dt.date, *, rules: Sequence[Rule] | None = None,
             reevaluate: bool = False) -> Evaluated:
    """Evaluate every rule for `day`. Alerts already evaluated on `day` or later keep their state,
    and so do the alerts of a rule that could not be evaluated (see the module docstring). With
    `reevaluate`, alerts last evaluated on `day` are evaluated again from their stored base."""
    rules = list(rules) if rules is not None else load_rules(settings)
    by_id = {r.id: r for r in rules}
    stored = read_states(store)
    stored_bases = _eval_bases(store)
    d = day.isoformat()
    # sources first: a stale source mutes the rules reading it
    ordered = sorted(rules, key=lambda r: r.kind != "source_stale")
    stale: dict[str, str] = {}
    results: dict[str, AlertState] = {}
    bases: dict[str, dict[str, Any] | None] = {fp: stored_bases.get(fp) for fp in stored}
    transitions = []
    failures: dict[str, str] = {}
    reevaluated: list[str] = []
    kept: dict[str, str] = {}

    def hold(st: AlertState) -> None:
        results[st.fingerprint] = st
        if st.rule_id in by_id and by_id[st.rule_id].kind == "source_stale" and st.state in ("pending", "firing"):
            stale.setdefault(st.labels.get("source", ""), f"{st.rule_id}: {st.summary}")

    for rule in ordered:
        try:
            signals = EVALUATORS[rule.kind](rule, store, settings, day)
        # one broken rule must not hide the others: a typed stresswatch error (an unreadable meeting
        # schedule, a store or model problem) or pandas/numpy trouble on odd data is recorded and the
        # rule's alerts are held; anything else is a bug and propagates
        except (StresswatchError, ValueError, LookupError, ArithmeticError) as exc:
            failures[rule.id] = str(exc) if isinstance(exc, StresswatchError) else f"{type(exc).__name__}: {exc}"
            log.error("alert rule %s could not be evaluated on %s: %s", rule.id, day, failures[rule.id])
            # not evaluated on D: every stored alert of this rule keeps its state (a failure is not
            # "all clear"), and a rerun of D evaluates the rule again
            for st in stored.values():
                if st.rule_id == rule.id:
                    hold(st)
            continue
        seen = {s.fingerprint for s in signals}
        # stored alerts of this rule that no longer produce a signal read as "low" (e.g. a
        # key-rate decision that left its window) unless the rule had no data at all
        for st in stored.values():
            if st.rule_id == rule.id and st.fingerprint not in seen and st.state != "inactive":
                signals.append(Signal(rule.id, st.labels, None, False, True, st.summary,
                                      nodata=any(s.nodata for s in signals)))
        for sig in signals:
            fp = sig.fingerprint
            prev = stored.get(fp) or AlertState(fp, rule.id, dict(sig.labels))
            start = prev
            if prev.last_eval_date is not None and prev.last_eval_date > d:
                if reevaluate:
                    kept[fp] = f"{rule.id}: already evaluated for a later date ({prev.last_eval_date})"
                hold(prev)
                continue
            if prev.last_eval_date == d:
                if not reevaluate:
                    hold(prev)
                    continue
                base = bases.get(fp)
                if base is None:
                    kept[fp] = f"{rule.id}: its state before {d} was not recorded"
                    hold(prev)
                    continue
                start = rewind(prev, base)
                reevaluated.append(fp)
            else:
                bases[fp] = _machine_fields(prev)  # the state before D's first evaluation
            muted = None
            if rule.kind != "source_stale":
                deps = sig.sources
                for src, why in stale.items():
                    if "*" in deps or src in deps:
                        muted = why
                        break
            new = advance(start, sig, rule, day, muted_by=muted)
            if rule.kind == "source_stale" and new.state in ("pending", "firing"):
                stale[sig.labels.get("source", "")] = f"{rule.id}: {new.summary}"
            results[fp] = new
            if new.state != prev.state:
                transitions.append((prev, new))
    # alerts of rules removed from the config are left as they are
    return Evaluated(list(results.values()), transitions, by_id, failures,
                     bases={fp: bases.get(fp) for fp in results}, reevaluated=reevaluated, kept=kept)


def digest_key(store: Store, day: dt.date) -> tuple[str, int]:
    """The outbox dedup key for the next digest of `day` and its revision: `digest:<day>` for the
    first, `digest:<day>#<n>` for the n-th (a re-evaluation of the day with something new to say)."""
    first = f"digest:{day.isoformat()}"
    queued = {r["dedup_key"] for r in store.outbox.rows()}
    revision = 1
    while (first if revision == 1 else f"{first}#{revision}") in queued:
        revision += 1
    return (first if revision == 1 else f"{first}#{revision}"), revision


def run_alerts(store: Store, settings: Settings, day: dt.date, clock: Clock, *,
               build_message: Callable[[Digest], tuple[Any, list[str]]] | None = None,
               rules: Sequence[Rule] | None = None, raise_on_failure: bool = True,
               reevaluate: bool = False) -> Evaluation:
    """Evaluate, advance and store the alert states for `day`; when the digest should be sent,
    queue its message in the outbox in the same transaction (dedup key `digest:<day>`, or
    `digest:<day>#<n>` for a revised digest of a re-evaluated day: see the module docstring).

    When rules failed, their failures are in `Evaluation.failures`, and (unless
    `raise_on_failure` is False) AlertRuleError is raised after everything else was stored."""
    ev = evaluate(store, settings, day, rules=rules, reevaluate=reevaluate)
    silenced = active_silences(store, day)
    digest, states = plan_digest(ev.states, ev.rules, day, silenced, settings["alerts"]["repeat_interval_days"],
                                 settings["alerts"]["send_resolved"])
    message = None
    recipients = list(settings["mail"]["recipients"])
    key = ""
    if digest.should_send and recipients:
        key, digest.revision = digest_key(store, day)
        if build_message is None:
            message = build_digest_message(store, settings, digest, clock)
        else:
            message, recipients = build_message(digest)
    now = utc_stamp(clock())
    queued = False
    with store.transaction():
        store.alerts.save_states([_to_row(st, ev.bases.get(st.fingerprint)) for st in states], now)
        for prev, new in ev.transitions:
            store.alerts.record_change(fingerprint=new.fingerprint, rule_id=new.rule_id, labels=new.labels,
                                       run_date=day, from_state=prev.state, to_state=new.state,
                                       value=new.last_value, summary=new.summary, recorded_at=now)
        if message is not None:
            queued = enqueue(store, key, day, message, recipients, clock)
    for prev, new in ev.transitions:
        log.info("alert %s %s: %s -> %s (%s)%s", new.rule_id, labels_json(new.labels), prev.state, new.state,
                 new.summary, " [re-evaluated]" if new.fingerprint in ev.reevaluated else "")
    for why in ev.kept.values():
        log.warning("alert not re-evaluated on %s: %s", day, why)
    if ev.failures and raise_on_failure:
        raise AlertRuleError(day, ev.failures)
    return Evaluation(day, digest, ev.transitions, states, queued=queued, failures=ev.failures,
                      dedup_key=key if queued else "", reevaluated=reevaluate, kept=list(ev.kept.values()))


def list_alerts(store: Store, settings: Settings, day: dt.date | None = None) -> list[dict[str, Any]]:
    """Rows for `alerts list`: every configured rule with its alerts' current state."""
    rules = load_rules(settings)
    states = read_states(store)
    silenced = store.alerts.silenced_until(day)
    rows: list[dict[str, Any]] = []
    for rule in rules:
        mine = [s for s in states.values() if s.rule_id == rule.id]
        if not mine:
            rows.append({"rule": rule.id, "kind": rule.kind, "labels": "", "state": "inactive", "since": None,
                         "last_eval": None, "value": None, "summary": "", "silenced_until": silenced.get(rule.id),
                         "muted_by": None, "fingerprint": None})
        for s in mine:
            since = {"firing": s.firing_since, "pending": s.pending_since, "resolved": s.resolved_on}.get(s.state)
            rows.append({"rule": rule.id, "kind": rule.kind,
                         "labels": ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())),
                         "state": s.state, "since": since, "last_eval": s.last_eval_date, "value": s.last_value,
                         "summary": s.summary, "silenced_until": silenced.get(rule.id), "muted_by": s.muted_by,
                         "fingerprint": s.fingerprint[:12]})
    return rows
