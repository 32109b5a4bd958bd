"""The backtest: what a model would have said on each business day, replayed honestly.

`backtest(store, settings, start, end, model_id=None)` replays the deployment of a model from
`start` (an empty state: the first fit comes when the policy allows it) to `end`, one business day
d at a time, with the input as known on d (inputs.InputHistory: the vintages known by d, never
later data nor later revisions) and the one update policy the daily compute uses
(policy.advance). Each day's answer is a row: asof, date (the model period the answer refers to),
regime (the state), p_stress_filtered, the filtered regime probabilities, what the policy did and
the day of the fit whose parameters it used.

Rows are stored (store.backtests) in batches with the policy state after each batch, so a rerun
reads them, an extension to a later end resumes from the state, and an interrupted run keeps every
finished batch. The stored rows are reused only while the data known by their last day is
unchanged (a digest of the input vintages; a backfill or revision known by then replays from the
start) and the spec and policy are the same (they key the backtest).
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, TextIO

import pandas as pd

from stresswatch.bizdays import business_days
from stresswatch.errors import UsageError
from stresswatch.regimes.inputs import InputHistory
from stresswatch.regimes.policy import Policy, PolicyState, advance
from stresswatch.regimes.spec import RegimeSpec, get_spec, headline
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.backtests import DayRow

log = logging.getLogger(__name__)

#: business days per stored batch (an interrupted run loses at most one batch)
BATCH_DAYS = 250
#: the columns `--format csv` prints, exactly
CSV_COLUMNS = ("asof", "date", "regime", "p_stress_filtered")


@dataclass(frozen=True)
class BacktestResult:
    """The backtest of one model over [start, end]: one row per business day."""

    model_id: str
    spec: RegimeSpec
    policy: Policy
    #: the deployment's first day (the backtest's key) and the rows' range
    first_asof: dt.date
    start: dt.date
    end: dt.date
    #: DataFrame[asof, date, regime, p_stress_filtered, p_filtered_i, action, fit_asof]
    rows: pd.DataFrame
    #: business days computed now, read from the store, and why stored rows were dropped
    computed: int = 0
    reused: int = 0
    replayed_because: str = ""
    seconds: float = 0.0
    #: days whose input needed its own transform (revisions, late data, weekly models)
    slow_days: int = 0
    actions: dict[str, int] = field(default_factory=dict)

    def csv_rows(self) -> list[dict[str, object]]:
        """The rows as `--format csv` prints them: asof, date, regime, p_stress_filtered."""
        out = []
        for r in self.rows.itertuples(index=False):
            out.append({"asof": r.asof.date(), "date": None if pd.isna(r.date) else r.date.date(),
                        "regime": r.regime, "p_stress_filtered": None if pd.isna(r.p_stress_filtered) else
                        float(r.p_stress_filtered)})
        return out


def _day_row(day: dt.date, step, spec: RegimeSpec) -> DayRow:
    a = step.answer
    state = step.state
    fit_day = dt.date.fromisoformat(state.fit_asof) if state is not None and state.fit_asof else None
    if a is None:
        return DayRow(day, None, None, None, (), step.action, fit_day)
    return DayRow(day, a.date, a.regime, a.p_stress, a.probabilities, step.action, fit_day)


def _frame(stored: pd.DataFrame, k: int) -> pd.DataFrame:
    out = stored.rename(columns={"p_stress": "p_stress_filtered", **{f"f{i}": f"p_filtered_{i}" for i in range(4)}})
    return out[["asof", "date", "regime", "p_stress_filtered", *[f"p_filtered_{i}" for i in range(k)], "action",
                "fit_asof"]].reset_index(drop=True)


def backtest(store: Store, settings: Settings, start: dt.date, end: dt.date, model_id: str | None = None, *,
             progress: bool = False, progress_file: TextIO | None = None,
             on_batch: Callable[[dt.date], None] | None = None) -> BacktestResult:
    """Replay the deployment of `model_id` (default: the headline) from `start` to `end` (see the
    module docstring) and return its rows for [start, end]; `progress` shows a tqdm bar (stderr).
    `on_batch(day)` is called after each stored batch."""
    if end < start:
        raise UsageError(f"--start {start} is after --end {end}")
    t0 = time.perf_counter()
    model = model_id or headline(store, settings)
    spec = get_spec(settings, model)
    policy = Policy.from_settings(settings)
    k = spec.k_regimes
    days = business_days(start, end)
    if not days:
        raise UsageError(f"no business day between {start} and {end}")
    first = days[0]
    stored = store.backtests.create(spec.id, spec.fingerprint(), policy.fingerprint(), first, spec.to_json(),
                                    policy.to_json())
    horizon = max(days[-1], stored.last_asof or days[-1])
    history = InputHistory(store, spec, horizon)
    replayed = ""
    state: PolicyState | None = None
    todo = days
    if stored.last_asof is not None:
        if history.mark(stored.last_asof) != stored.data_mark:
            replayed = (f"the data known by {stored.last_asof} changed since the stored backtest was made (a backfill "
                        f"or a revision): replayed from {first}")
            log.info("backtest of %s: %s", spec.id, replayed)
            store.backtests.reset(stored.id)
        else:
            state = PolicyState.from_json(stored.state)
            todo = [d for d in days if d > stored.last_asof]
    actions: dict[str, int] = {}
    if todo:
        from tqdm import tqdm  # the bar only where a backtest runs

        batch: list[DayRow] = []
        bar = tqdm(todo, desc=f"backtest {spec.id}", unit="day", disable=not progress,
                   file=progress_file or sys.stderr, mininterval=0.5)
        for day in bar:
            step = advance(state, history.on(day), day, spec, policy)
            state = step.state
            actions[step.action] = actions.get(step.action, 0) + 1
            batch.append(_day_row(day, step, spec))
            if len(batch) >= BATCH_DAYS or day == todo[-1]:
                store.backtests.append(stored.id, batch, last_asof=day,
                                       state=state.to_json() if state is not None else None,
                                       data_mark=history.mark(day))
                batch = []
                if on_batch is not None:
                    on_batch(day)
        bar.close()
    rows = _frame(store.backtests.rows(stored.id, days[0], days[-1]), k)
    return BacktestResult(model_id=spec.id, spec=spec, policy=policy, first_asof=first, start=days[0], end=days[-1],
                          rows=rows, computed=len(todo), reused=len(days) - len(todo) if not replayed else 0,
                          replayed_because=replayed, seconds=time.perf_counter() - t0, slow_days=history.slow_days,
                          actions=actions)
