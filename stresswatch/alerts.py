"""Alert rules, their per-alert state machine, silences and the per-run digest.

Owns the decision of *what* to mail (`stresswatch.mail` builds and delivers the message); the
alert states, their history and silences are kept by `store.alerts` (tables `alert_state`,
`alert_history`, `silences`).

Semantics (borrowed from Prometheus/Alertmanager, counted in runs because the data are daily):

- A rule yields one *signal* per alert instance (the rule id plus labels, identified by a
  fingerprint = sha256 of both). A signal says whether the value is *high* (above `enter`) and
  whether it is *low* (below `exit`; for rules without hysteresis simply "not high").
- State per alert: inactive -> pending (high, fewer than `for_runs` consecutive runs) -> firing
  (high `for_runs` runs in a row) -> resolved (low `clear_runs` runs in a row) -> inactive. Rules
  on an observation series (the regime rule) count the series' own consecutive observations known
  on D instead, so a run without a new observation (a Monday after a Saturday fixing, a holiday)
  never counts the same value twice.
- A source that is stale or failing (a `source_stale` alert firing or pending) *mutes* the rules
  that read its data: their state is held, never resolved, so missing data never reads as
  "all clear".
- Everything is evaluated for a run date D with data known on D (`asof=D`), never `now()`;
  evaluating a date at or before an alert's last evaluated date changes nothing (reruns are no-ops).
- One digest per run, only when an alert newly fires, resolves (after it was notified as firing),
  or a still-firing alert's `repeat_interval_days` elapsed (0 = never). Silenced rules are not
  notified; when the silence ends, a still-firing alert is notified then.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from stresswatch.errors import ConfigError, UsageError
from stresswatch.mail.delivery import enqueue
from stresswatch.mail.message import build_digest_message
from stresswatch.regimes.spec import get_spec, headline
from stresswatch.regimes.state import regime_state
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.alerts import AlertStateRow, HistoryRow, SilenceRow, labels_json

log = logging.getLogger(__name__)

KINDS = ("regime", "index_percentile", "extraordinary_keyrate", "ruble_move", "source_stale")
#: kinds whose alerts are one-off events: they resolve silently
EVENT_KINDS = ("extraordinary_keyrate",)
STATES = ("inactive", "pending", "firing", "resolved")


# ---------------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One alert rule from `[[alerts.rules]]` (or the built-in defaults)."""

    id: str
    kind: str
    enter: float = 0.5
    exit: float = 0.3
    for_runs: int = 2
    clear_runs: int = 2
    percentile: float = 0.9
    pct: float = 5.0
    days: int = 1
    series: str = ""
    source: str = ""
    model: str = ""
    min_change: float = 2.0

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> "Rule":
        known = {f for f in cls.__dataclass_fields__}
        rule = cls(**{k: v for k, v in table.items() if k in known})
        if rule.kind not in KINDS:
            raise ConfigError(f"alert rule {rule.id!r}: unknown kind {rule.kind!r}; use one of {', '.join(KINDS)}")
        if rule.kind == "regime" and rule.exit > rule.enter:
            raise ConfigError(f"alert rule {rule.id!r}: exit ({rule.exit}) must not exceed enter ({rule.enter})")
        if rule.kind == "source_stale" and not rule.source:
            raise ConfigError(f"alert rule {rule.id!r}: source_stale needs `source`")
        return rule

    @property
    def sends_resolved(self) -> bool:
        return self.kind not in EVENT_KINDS


def default_rules(settings: Settings) -> list[Rule]:
    """Built-in rules, used while `[alerts] rules` is empty.

    Only the headline regime alert and a staleness guard on the Bank of Russia data are on by
    default: they give one mail when the ruble enters the stress regime and one when it leaves.
    The other kinds (index percentile, extraordinary key-rate decision, ruble move) are opt-in;
    docs/operations.md has ready-to-paste tables.
    """
    try:
        stale_days = int(settings.source("cbr")["stale_days"])
    except KeyError:
        stale_days = 5
    return [
        # model "" = the headline model, resolved against the store on each run date
        Rule(id="stress-regime", kind="regime", model="", enter=0.5, exit=0.3, for_runs=2,
             clear_runs=_episode_clear_runs(settings)),
        Rule(id="cbr-stale", kind="source_stale", source="cbr", days=max(stale_days, 7), for_runs=1, clear_runs=1),
    ]


def _episode_clear_runs(settings: Settings) -> int:
    """Observations of P(stress) below `exit` before the built-in regime alert resolves: one more
    than the gap over which the model's episodes are merged (`[regimes] episode_merge_gap`, in the
    model's own periods: weeks for a weekly model, whose stored probabilities have one row per
    week). So the alert ends when the episode shown in the report would end, and a short lull
    inside one episode does not send a resolved mail followed by a new firing one."""
    return int(settings["regimes"].get("episode_merge_gap", 5)) + 1


def load_rules(settings: Settings) -> list[Rule]:
    tables = settings["alerts"]["rules"]
    rules = [Rule.from_config(t) for t in tables] if tables else default_rules(settings)
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise ConfigError(f"[alerts] rules: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    return rules


def fingerprint(rule_id: str, labels: Mapping[str, str]) -> str:
    """sha256 over the rule id and the sorted labels: an alert's identity (annotations excluded)."""
    text = rule_id + "\x00" + "\x00".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Signals (what the data say on D) and the pure state machine
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Signal:
    rule_id: str
    labels: Mapping[str, str]
    value: float | None
    high: bool
    low: bool
    summary: str
    #: sources whose data this signal reads (a stale source mutes it)
    sources: tuple[str, ...] = ()
    #: no data on D: hold the state
    nodata: bool = False
    #: for rules on an observation series: the last `for_runs` / `clear_runs` observations known on
    #: D were all high / all low (None = count consecutive runs instead). A run that brings no new
    #: observation then never counts twice.
    confirmed_high: bool | None = None
    confirmed_low: bool | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.rule_id, self.labels)


@dataclass(frozen=True)
class AlertState:
    fingerprint: str
    rule_id: str
    labels: Mapping[str, str]
    state: str = "inactive"
    high_count: int = 0
    low_count: int = 0
    pending_since: str | None = None
    firing_since: str | None = None
    resolved_on: str | None = None
    last_eval_date: str | None = None
    last_value: float | None = None
    summary: str = ""
    muted_by: str | None = None
    notified_state: str | None = None
    last_notified_date: str | None = None


def advance(prev: AlertState, sig: Signal, rule: Rule, day: dt.date, muted_by: str | None = None) -> AlertState:
    """The state machine: the alert's state after evaluating `sig` on `day` (pure)."""
    d = day.isoformat()
    base = replace(prev, last_eval_date=d, summary=sig.summary or prev.summary,
                   last_value=sig.value if sig.value is not None else prev.last_value, muted_by=muted_by)
    if muted_by is not None or sig.nodata:
        return base  # hold: missing or stale data never resolves (or fires) anything
    for_runs = max(1, rule.for_runs)
    clear_runs = max(1, rule.clear_runs)
    high_count = prev.high_count + 1 if sig.high else 0
    low_count = prev.low_count + 1 if sig.low else 0
    enter_met = sig.confirmed_high if sig.confirmed_high is not None else high_count >= for_runs
    exit_met = sig.confirmed_low if sig.confirmed_low is not None else low_count >= clear_runs
    state = prev.state
    if state in ("inactive", "resolved", "pending"):
        if sig.high:
            if enter_met:
                return replace(base, state="firing", high_count=high_count, low_count=0,
                               pending_since=prev.pending_since if state == "pending" else d,
                               firing_since=d, resolved_on=None)
            return replace(base, state="pending", high_count=high_count, low_count=0,
                           pending_since=prev.pending_since if state == "pending" else d)
        return replace(base, state="inactive", high_count=0, low_count=low_count, pending_since=None)
    # firing: leave only after `clear_runs` consecutive low runs (hysteresis: low means below `exit`)
    if sig.low and exit_met:
        return replace(base, state="resolved", high_count=0, low_count=low_count, resolved_on=d, pending_since=None)
    return replace(base, state="firing", high_count=high_count, low_count=low_count)


@dataclass
class Digest:
    """What one run notifies: alerts that newly fire, resolve, or are repeated; and all firing ones."""

    day: dt.date
    new_firing: list[AlertState] = field(default_factory=list)
    resolved: list[AlertState] = field(default_factory=list)
    repeated: list[AlertState] = field(default_factory=list)
    firing: list[AlertState] = field(default_factory=list)
    muted: list[AlertState] = field(default_factory=list)

    @property
    def should_send(self) -> bool:
        return bool(self.new_firing or self.resolved or self.repeated)

    def subject(self) -> str:
        d = self.day.isoformat()
        if len(self.new_firing) + len(self.resolved) + len(self.repeated) == 1:
            if self.new_firing:
                a = self.new_firing[0]
                return f"[stresswatch] FIRING {a.rule_id}: {a.summary} ({d})"
            if self.resolved:
                a = self.resolved[0]
                return f"[stresswatch] RESOLVED {a.rule_id}: {a.summary} ({d})"
            a = self.repeated[0]
            return f"[stresswatch] STILL FIRING {a.rule_id}: {a.summary} ({d})"
        parts = []
        if self.new_firing:
            parts.append(f"{len(self.new_firing)} firing")
        if self.resolved:
            parts.append(f"{len(self.resolved)} resolved")
        if self.repeated:
            parts.append(f"{len(self.repeated)} still firing")
        return f"[stresswatch] {', '.join(parts)} ({d})"


def plan_digest(states: Sequence[AlertState], rules: Mapping[str, Rule], day: dt.date, silenced: set[str],
                repeat_interval_days: int, send_resolved: bool) -> tuple[Digest, list[AlertState]]:
    """Decide what the run's digest says; return it and the states with their notification log
    updated as if the digest were sent (pure)."""
    digest = Digest(day=day)
    updated = []
    d = day.isoformat()
    for st in states:
        rule = rules.get(st.rule_id)
        if st.muted_by:
            digest.muted.append(st)
        if st.state == "firing":
            digest.firing.append(st)
        if rule is None or st.rule_id in silenced:
            updated.append(st)
            continue
        if st.state == "firing":
            if st.notified_state != "firing":
                digest.new_firing.append(st)
                st = replace(st, notified_state="firing", last_notified_date=d)
            elif repeat_interval_days > 0 and st.last_notified_date and \
                    (day - dt.date.fromisoformat(st.last_notified_date)).days >= repeat_interval_days:
                digest.repeated.append(st)
                st = replace(st, last_notified_date=d)
        elif st.state in ("resolved", "inactive", "pending") and st.notified_state == "firing":
            if send_resolved and rule.sends_resolved:
                digest.resolved.append(st)
                st = replace(st, notified_state="resolved", last_notified_date=d)
            else:
                st = replace(st, notified_state=None)
        updated.append(st)
    return digest, updated


# ---------------------------------------------------------------------------------------------
# Evaluating rules against the store (data known on D)
# ---------------------------------------------------------------------------------------------
def _bdays_between(earlier: dt.date, later: dt.date) -> int:
    """Business days after `earlier` up to and including `later` (0 when same day or before)."""
    if later <= earlier:
        return 0
    return int(np.busday_count(earlier + dt.timedelta(days=1), later + dt.timedelta(days=1)))


def _source_of(series_id: str) -> str:
    return series_id.split(".", 1)[0]


def _eval_regime(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    """High when the model's filtered P(stress) on its last period known on D is above `enter`
    (the regime read model as of D: the same run, labels and probabilities as the report)."""
    model = rule.model or headline(store, settings, day)
    labels = {"model": model}
    try:
        series = get_spec(settings, model).series  # the configured input decides which source mutes it
    except ConfigError as exc:  # a rule naming a model that is not configured: no data, never "all clear"
        return [Signal(rule.id, labels, None, False, False, f"alert rule {rule.id}: {exc}", ("*",), nodata=True)]
    sources = (_source_of(series),) if not series.startswith("stress.") else ("*",)
    state = regime_state(store, settings, day, model)
    probs = state.stress_probability("filtered")
    probs = probs[probs.index <= pd.Timestamp(day)]
    if probs.empty:
        return [Signal(rule.id, labels, None, False, False, f"no P(stress) for {model} known on {day}",
                       sources, nodata=True)]
    p = float(probs.iloc[-1])
    last_day = probs.index[-1].date()
    on = last_day.isoformat()
    regime = state.label_on(last_day)
    limit = int(settings["report"]["stale_days"])
    if _bdays_between(last_day, day) > limit:
        # the model did not update (fit failed, data missing): hold, never read it as "all clear"
        return [Signal(rule.id, labels, p, False, False,
                       f"{model} P(stress) last known for {on}, more than {limit} business days before {day}",
                       sources, nodata=True)]
    high, low = p > rule.enter, p < rule.exit
    values = probs.to_numpy(dtype=float)
    confirmed_high = len(values) >= rule.for_runs and bool((values[-rule.for_runs:] > rule.enter).all())
    confirmed_low = len(values) >= rule.clear_runs and bool((values[-rule.clear_runs:] < rule.exit).all())
    if high:
        summary = f"{model} P(stress) {p:.2f} > {rule.enter:.2f} ({on}, regime {regime})"
    elif low:
        summary = f"{model} P(stress) {p:.2f} < {rule.exit:.2f} ({on}, regime {regime})"
    else:
        summary = f"{model} P(stress) {p:.2f} between {rule.exit:.2f} and {rule.enter:.2f} ({on}, regime {regime})"
    return [Signal(rule.id, labels, p, high, low, summary, sources, confirmed_high=confirmed_high,
                   confirmed_low=confirmed_low)]


def _eval_index_percentile(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    series_id = rule.series or "stress.index"
    labels = {"series": series_id}
    values = store.observations.read_series(series_id, asof=day, end=day).dropna()
    if values.empty:
        return [Signal(rule.id, labels, None, False, False, f"no {series_id} known on {day}", ("*",), nodata=True)]
    last = float(values.iloc[-1])
    rank = float((values.to_numpy() <= last).mean())  # recursive: only history known on D
    high = rank >= rule.percentile
    summary = (f"{series_id} {last:.3f} at percentile {rank:.0%} of its history "
               f"({'>=' if high else '<'} {rule.percentile:.0%}, {values.index[-1].date()})")
    return [Signal(rule.id, labels, rank, high, not high, summary, ("*",))]


def _eval_keyrate(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    """One alert per extraordinary decision that took effect within the last `days` business days:
    a change of at least `min_change` pp, or one not following a scheduled board meeting (the
    indicators' meeting schedule, `stresswatch.indicators.rates.extraordinary_flags`)."""
    series_id = rule.series or "cbr.keyrate"
    rate = store.observations.read_series(series_id, asof=day, end=day).dropna()
    if len(rate) < 2:
        return []
    changes = rate.diff().dropna()
    changes = changes[changes != 0]
    flags = _extraordinary_flags(rate, settings, rule.min_change)
    signals = []
    for when, delta in changes.items():
        when_d = when.date()
        if _bdays_between(when_d, day) >= rule.days:
            continue  # outside the alert window: the alert (if any) resolves silently
        big = abs(delta) >= rule.min_change - 1e-9
        flagged = bool(flags.get(when, 0.0) >= 1.0) if flags is not None else big
        if not flagged:
            continue
        level = float(rate.loc[when])
        why = f"{delta:+.2f} pp" + ("" if big else ", not after a scheduled board meeting")
        signals.append(Signal(rule.id, {"series": series_id, "decision": when_d.isoformat()}, float(delta), True,
                              False, f"extraordinary key-rate decision: {level - delta:g}% -> {level:g}% from "
                              f"{when_d} ({why})", (_source_of(series_id),)))
    return signals


def _extraordinary_flags(rate: pd.Series, settings: Settings, min_change: float) -> pd.Series | None:
    """Per decision day 1.0 = extraordinary, from the indicators engineer's classifier; None when
    that code or its meeting schedule is unavailable (then size alone decides)."""
    try:
        from stresswatch.indicators import rates

        return rates.extraordinary_flags(rate, rates.load_meetings(rates.meetings_path(settings)),
                                         threshold_bp=min_change * 100.0)
    except Exception as exc:  # noqa: BLE001
        log.debug("extraordinary key-rate classifier unavailable (%s); judging by size only", exc)
        return None


def _eval_ruble_move(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    series_id = rule.series or "cbr.fx.USD"
    labels = {"series": series_id, "days": str(rule.days)}
    fx = store.observations.read_series(series_id, asof=day, end=day).dropna()
    if len(fx) <= rule.days:
        return [Signal(rule.id, labels, None, False, False, f"too little {series_id} known on {day}",
                       (_source_of(series_id),), nodata=True)]
    now, then = float(fx.iloc[-1]), float(fx.iloc[-1 - rule.days])
    move = (now / then - 1.0) * 100.0
    high = abs(move) >= rule.pct
    direction = "weaker" if move > 0 else "stronger"
    summary = (f"{series_id} {then:g} -> {now:g} RUB over {rule.days} fixing(s): {move:+.1f}% "
               f"(ruble {direction}; threshold {rule.pct:g}%, {fx.index[-1].date()})")
    return [Signal(rule.id, labels, move, high, not high, summary, (_source_of(series_id),))]


def _eval_source_stale(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    source = rule.source
    labels = {"source": source}
    last_obs = store.observations.last_observation_date(source, day)
    failing = store.ledger.failing_streak(source, day)
    if last_obs is None:
        age = None
        high = True
        summary = f"no {source} data known on {day}"
    else:
        age = _bdays_between(last_obs, day)
        high = age > rule.days
        summary = f"{source}: last observation {last_obs} ({age} business days before {day}; limit {rule.days})"
    if failing:
        summary += f"; fetch failed on the last {failing} run(s)"
        high = high or failing >= rule.days
    return [Signal(rule.id, labels, float(age) if age is not None else None, high, not high, summary, (source,))]


EVALUATORS: dict[str, Callable[[Rule, Store, Settings, dt.date], list[Signal]]] = {
    "regime": _eval_regime,
    "index_percentile": _eval_index_percentile,
    "extraordinary_keyrate": _eval_keyrate,
    "ruble_move": _eval_ruble_move,
    "source_stale": _eval_source_stale,
}


# ---------------------------------------------------------------------------------------------
# Persistence
# ---------------------------------------------------------------------------------------------
def _from_row(row: AlertStateRow) -> AlertState:
    return AlertState(**dataclasses.asdict(row))


def _to_row(st: AlertState) -> AlertStateRow:
    return AlertStateRow(**{**dataclasses.asdict(st), "labels": dict(st.labels)})


def read_states(store: Store) -> dict[str, AlertState]:
    return {row.fingerprint: _from_row(row) for row in store.alerts.states()}


def active_silences(store: Store, day: dt.date) -> set[str]:
    return store.alerts.silenced_rules(day)


def add_silence(store: Store, rule_id: str, until: dt.date, starts: dt.date, clock: Callable[[], dt.datetime],
                created_by: str = "", comment: str = "", known_rules: Iterable[str] | None = None) -> int:
    if known_rules is not None and rule_id not in set(known_rules):
        raise UsageError(f"no alert rule {rule_id!r}; rules: {', '.join(sorted(known_rules))}")
    if until < starts:
        raise UsageError(f"--until {until} is before the silence starts ({starts})")
    return store.alerts.add_silence(rule_id, starts, until, _ts(clock()), created_by, comment)


def list_silences(store: Store) -> list[SilenceRow]:
    return store.alerts.silences()


def history(store: Store, rule_id: str | None = None, limit: int | None = None) -> list[HistoryRow]:
    return store.alerts.history(rule_id, limit)


def _ts(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"


# ---------------------------------------------------------------------------------------------
# One run
# ---------------------------------------------------------------------------------------------
@dataclass
class Evaluation:
    day: dt.date
    digest: Digest
    transitions: list[tuple[AlertState, AlertState]]
    states: list[AlertState]
    queued: bool = False
    skipped_reason: str = ""


def evaluate(store: Store, settings: Settings, day: dt.date, *, rules: Sequence[Rule] | None = None) -> tuple[
        list[AlertState], list[tuple[AlertState, AlertState]], dict[str, Rule]]:
    """Evaluate every rule for `day`; return the new states (not yet stored), the transitions and
    the rules by id. Alerts already evaluated on `day` or later keep their state."""
    rules = list(rules) if rules is not None else load_rules(settings)
    by_id = {r.id: r for r in rules}
    stored = read_states(store)
    d = day.isoformat()
    # sources first: a stale source mutes the rules reading it
    ordered = sorted(rules, key=lambda r: r.kind != "source_stale")
    stale: dict[str, str] = {}
    results: dict[str, AlertState] = {}
    transitions = []
    for rule in ordered:
        try:
            signals = EVALUATORS[rule.kind](rule, store, settings, day)
        except Exception as exc:  # noqa: BLE001 - one broken rule must not hide the others
            log.warning("alert rule %s failed on %s: %s", rule.id, day, exc)
            # hold every stored alert of this rule: a failure is not "all clear"
            signals = [Signal(rule.id, st.labels, None, False, False, st.summary, nodata=True)
                       for st in stored.values() if st.rule_id == rule.id]
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
            if prev.last_eval_date is not None and prev.last_eval_date >= d:
                results[fp] = prev
                continue
            muted = None
            if rule.kind != "source_stale":
                deps = sig.sources
                for src, why in stale.items():
                    if "*" in deps or src in deps:
                        muted = why
                        break
            new = advance(prev, sig, rule, day, muted_by=muted)
            if rule.kind == "source_stale" and new.state in ("pending", "firing"):
                stale[sig.labels.get("source", "")] = f"{rule.id}: {new.summary}"
            results[fp] = new
            if new.state != prev.state:
                transitions.append((prev, new))
    # alerts of rules removed from the config are left as they are
    return list(results.values()), transitions, by_id


def run_alerts(store: Store, settings: Settings, day: dt.date, clock: Callable[[], dt.datetime], *,
               build_message: Callable[[Digest], tuple[Any, list[str]]] | None = None,
               rules: Sequence[Rule] | None = None) -> Evaluation:
    """Evaluate, advance and store the alert states for `day`; when the digest should be sent,
    queue its message in the outbox in the same transaction (dedup key `digest:<day>`)."""
    states, transitions, by_id = evaluate(store, settings, day, rules=rules)
    silenced = active_silences(store, day)
    digest, states = plan_digest(states, by_id, day, silenced, settings["alerts"]["repeat_interval_days"],
                                 settings["alerts"]["send_resolved"])
    message = None
    recipients = list(settings["mail"]["recipients"])
    if digest.should_send and recipients:
        if build_message is None:
            message = build_digest_message(store, settings, digest, clock)
        else:
            message, recipients = build_message(digest)
    now = _ts(clock())
    queued = False
    with store.transaction():
        store.alerts.save_states([_to_row(st) for st in states], now)
        for prev, new in transitions:
            store.alerts.record_change(fingerprint=new.fingerprint, rule_id=new.rule_id, labels=new.labels,
                                       run_date=day, from_state=prev.state, to_state=new.state,
                                       value=new.last_value, summary=new.summary, recorded_at=now)
        if message is not None:
            queued = enqueue(store, f"digest:{day.isoformat()}", day, message, recipients, clock)
    for prev, new in transitions:
        log.info("alert %s %s: %s -> %s (%s)", new.rule_id, labels_json(new.labels), prev.state, new.state,
                 new.summary)
    return Evaluation(day, digest, transitions, states, queued=queued)


def list_alerts(store: Store, settings: Settings, day: dt.date | None = None) -> list[dict[str, Any]]:
    """Rows for `alerts list`: every configured rule with its alerts' current state."""
    try:
        rules = load_rules(settings)
    except ConfigError:
        raise
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
