"""The alert state machine and the digest plan: pure functions of signals, states and rules.

No store, no clock, no I/O: `advance` and `plan_digest` take everything they need as arguments,
so the semantics below can be tested (and read) on their own.

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
  "all clear" (`advance(..., muted_by=...)`; `alerts.run` decides who is muted).
- One digest per run, only when an alert newly fires, resolves (after it was notified as firing),
  or a still-firing alert's `repeat_interval_days` elapsed (0 = never). Silenced rules are not
  notified; when the silence ends, a still-firing alert is notified then.
- Evaluating a date again (new data for it arrived later): `rewind` puts an alert back to its
  state-machine fields (`MACHINE_FIELDS`) from before the date's first evaluation, keeping what
  was notified, so the date is counted once and only news is mailed (`alerts.run` stores the base).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from stresswatch.alerts.rules import Rule

STATES = ("inactive", "pending", "firing", "resolved")
#: the fields `advance` moves; the notification fields (notified_state, last_notified_date) are
#: what the recipients were told and are never rewound
MACHINE_FIELDS = ("state", "high_count", "low_count", "pending_since", "firing_since", "resolved_on",
                  "last_eval_date", "last_value", "summary", "muted_by")


def fingerprint(rule_id: str, labels: Mapping[str, str]) -> str:
    """sha256 over the rule id and the sorted labels: an alert's identity (annotations excluded)."""
    text = rule_id + "\x00" + "\x00".join(f"{k}={labels[k]}" for k in sorted(labels))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Signal:
    """What one rule's data say on the run date about one alert instance."""

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
    """One alert instance's state, as stored (dates as ISO text)."""

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


def rewind(st: AlertState, base: Mapping[str, object]) -> AlertState:
    """`st` with its state-machine fields set back to `base` (as saved before a date's first
    evaluation); what was notified stays (pure)."""
    return replace(st, **{name: base[name] for name in MACHINE_FIELDS if name in base})


@dataclass
class Digest:
    """What one run notifies: alerts that newly fire, resolve, or are repeated; and all firing ones.

    It satisfies `stresswatch.mail.message.DigestContent` (structurally: mail never imports alerts)."""

    day: dt.date
    new_firing: list[AlertState] = field(default_factory=list)
    resolved: list[AlertState] = field(default_factory=list)
    repeated: list[AlertState] = field(default_factory=list)
    firing: list[AlertState] = field(default_factory=list)
    muted: list[AlertState] = field(default_factory=list)
    #: 1 for the day's first digest; n > 1 for the n-th, after the day was evaluated again
    revision: int = 1

    @property
    def should_send(self) -> bool:
        return bool(self.new_firing or self.resolved or self.repeated)

    def subject(self) -> str:
        d = self.day.isoformat() + (", revised" if self.revision > 1 else "")
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
