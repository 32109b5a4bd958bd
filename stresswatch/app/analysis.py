""""Compute what D needs": whether the stored analysis (the derived series written by
`stresswatch.compute` and the regime runs) covers the data known on D, and computing the dates
it does not.

The daily cycle computes before it aligns and reports; one-off commands that read the analysis
(`events align`, `report`) call `ensure_computed` first. Nothing here prints: it returns what it
found and what it did, and the CLI says so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable, Iterable

import pandas as pd

from stresswatch.app.session import App
from stresswatch.bizdays import business_day_on_or_before
from stresswatch.compute import ComputeResult, compute
from stresswatch.regimes.runs import latest_run
from stresswatch.regimes.spec import get_spec, headline
from stresswatch.settings import Settings
from stresswatch.store import Store


def stale_analysis(store: Store, settings: Settings, asof: dt.date) -> list[str]:
    """Why the stored analysis does not cover the data known on `asof` (empty when it does): the
    headline model has no run as of `asof` that saw its latest input, or the stress index stops
    before the newest Bank of Russia rate."""
    asof = pd.Timestamp(asof).date()
    reasons = []
    spec = get_spec(settings, headline(store, settings, asof))
    known = store.observations.read_series(spec.series, end=asof, asof=asof)
    if not known.empty:
        run = latest_run(store, spec.id, asof)
        if run is None:
            reasons.append(f"model {spec.id} has no run as of {asof}")
        elif run.data_last < known.index[-1].date():
            reasons.append(f"model {spec.id}'s latest run as of {asof} ends {run.data_last}")
    fx = store.observations.read_series("cbr.fx.USD", end=asof, asof=asof)
    index = store.observations.read_series("stress.index", end=asof, asof=asof)
    # the index lives on business days: a Saturday-dated fixing counts from the Friday before
    due = business_day_on_or_before(fx.index[-1].date()) if not fx.empty else None
    if due is not None and (index.empty or index.index[-1].date() < due):
        reasons.append(f"the stress index is not computed up to {due}")
    return reasons


@dataclass
class Computed:
    """One date `ensure_computed` computed, and why."""

    day: dt.date
    reasons: list[str]
    result: ComputeResult


def ensure_computed(app: App, days: Iterable[dt.date],
                    before: Callable[[dt.date, list[str]], None] | None = None) -> list[Computed]:
    """Run `compute` as of each of `days` whose stored analysis does not cover the data known on
    that day (under the writer lock). `before(day, reasons)` is called as each one starts (the
    CLI prints it: a compute can take a while). Returns the dates computed, oldest first."""
    store = app.store()
    todo = [(d, why) for d in days if (why := stale_analysis(store, app.settings, d))]
    done: list[Computed] = []
    if not todo:
        return done
    with app.lock():
        for day, why in todo:
            if before is not None:
                before(day, why)
            done.append(Computed(day, why, compute(store, app.settings, day)))
    return done
