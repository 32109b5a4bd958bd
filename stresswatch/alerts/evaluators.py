"""The five rule evaluators: what the store says on run date D, as `Signal`s (data known on D).

One evaluator per rule kind (`EVALUATORS`), each `(rule, store, settings, day) -> list[Signal]`:

- `regime`: the model's filtered P(stress) on its last period known on D, read from the regime read
  model (`regimes.state.regime_state`: the same run, labels and probabilities as the report).
- `index_percentile`: a series' last value against the recursive percentile of its own history.
- `extraordinary_keyrate`: key-rate decisions in force within the last `days` business days that
  `indicators.rates.extraordinary_flags` calls extraordinary, judged with the Bank of Russia meeting
  schedule (`[compute] meetings`). An unreadable schedule raises ConfigError: the rule fails
  (and `alerts.run` records it); it never falls back to judging by size alone.
- `ruble_move`: the ruble's move over `days` fixings.
- `source_stale`: a source without new observations (or with failing fetches) for `days`.

Evaluators only read; they raise StresswatchError (or the pandas/numpy ValueError family) when a
rule cannot be evaluated, and `alerts.run.evaluate` holds that rule's alerts and records why.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import pandas as pd

from stresswatch.alerts.machine import Signal
from stresswatch.alerts.rules import Rule
from stresswatch.bizdays import business_days_between
from stresswatch.errors import ConfigError
from stresswatch.indicators import rates
from stresswatch.regimes.spec import get_spec, headline
from stresswatch.regimes.state import regime_state
from stresswatch.settings import Settings
from stresswatch.store import Store

Evaluator = Callable[[Rule, Store, Settings, dt.date], list[Signal]]


def _source_of(series_id: str) -> str:
    return series_id.split(".", 1)[0]


def eval_regime(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
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
    if business_days_between(last_day, day) > limit:
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


def eval_index_percentile(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    """High when the series' last value known on D is at or above `percentile` of its history."""
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


def eval_keyrate(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    """One alert per extraordinary decision that took effect within the last `days` business days:
    a change of at least `min_change` pp, or one not following a scheduled board meeting (the
    indicators' meeting schedule, `stresswatch.indicators.rates.extraordinary_flags`).

    Raises ConfigError when the meeting schedule (`[compute] meetings`) cannot be read: without it
    the rule cannot tell an unscheduled decision from a scheduled one."""
    series_id = rule.series or "cbr.keyrate"
    rate = store.observations.read_series(series_id, asof=day, end=day).dropna()
    if len(rate) < 2:
        return []
    changes = rate.diff().dropna()
    changes = changes[changes != 0]
    schedule = rates.load_meetings(rates.meetings_path(settings))
    flags = rates.extraordinary_flags(rate, schedule, threshold_bp=rule.min_change * 100.0)
    signals = []
    for when, delta in changes.items():
        when_d = when.date()
        if business_days_between(when_d, day) >= rule.days:
            continue  # outside the alert window: the alert (if any) resolves silently
        if flags.get(when, 0.0) < 1.0:
            continue  # a regular decision
        big = abs(delta) >= rule.min_change - 1e-9
        level = float(rate.loc[when])
        why = f"{delta:+.2f} pp" + ("" if big else ", not after a scheduled board meeting")
        signals.append(Signal(rule.id, {"series": series_id, "decision": when_d.isoformat()}, float(delta), True,
                              False, f"extraordinary key-rate decision: {level - delta:g}% -> {level:g}% from "
                              f"{when_d} ({why})", (_source_of(series_id),)))
    return signals


def eval_ruble_move(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    """High when RUB per unit moved by at least `pct` percent over the last `days` fixings."""
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


def eval_source_stale(rule: Rule, store: Store, settings: Settings, day: dt.date) -> list[Signal]:
    """High when the source's last observation is more than `days` business days old, or its
    fetch failed on the last `days` runs."""
    source = rule.source
    labels = {"source": source}
    last_obs = store.observations.last_observation_date(source, day)
    failing = store.ledger.failing_streak(source, day)
    if last_obs is None:
        age = None
        high = True
        summary = f"no {source} data known on {day}"
    else:
        age = business_days_between(last_obs, day)
        high = age > rule.days
        summary = f"{source}: last observation {last_obs} ({age} business days before {day}; limit {rule.days})"
    if failing:
        summary += f"; fetch failed on the last {failing} run(s)"
        high = high or failing >= rule.days
    return [Signal(rule.id, labels, float(age) if age is not None else None, high, not high, summary, (source,))]


EVALUATORS: dict[str, Evaluator] = {
    "regime": eval_regime,
    "index_percentile": eval_index_percentile,
    "extraordinary_keyrate": eval_keyrate,
    "ruble_move": eval_ruble_move,
    "source_stale": eval_source_stale,
}
