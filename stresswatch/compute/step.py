"""One compute as of D: indicators and the stress index, the derived series written back, then the
regime update (`stresswatch.regimes.update.update_all`, imported when it runs).

`compute_block` is the pure part: from already-read inputs, the index for the business days from
`block_start` to D after a `History` of the days before (all of the grid when there is none),
exchange-market pressure on those days and the stored indicators. `compute` plans the run
(`compute.state.plan`: full, or appended to the stored state), reads only what that needs, writes
the derived series of the recomputed days in one transaction with the new state, and reports
what it did (`ComputeResult.mode`, `.revised_days`).

Series written (source "compute"): stress.index, stress.index.pct (its recursive percentile),
stress.index.coverage (share of the ranked segments in the index), stress.corr (mean EWMA
correlation, a diagnostic), stress.segment.<name>, stress.contrib.<name>, stress.beside.<name>
(monthly families beside the index), stress.emp, and ind.<indicator id> for the indicators in
`STORED`, each value known from the day it became computable (values not known by D are left for
a later compute). A compute that writes rows or a new regime run forgets the event alignment
stored for D (`store.alignments`), so the report aligns afresh.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stresswatch.clock import utc_stamp
from stresswatch.compute.inputs import EMP_ID, Inputs, build_measures, computed, evaluate, is_stored, on_grid
from stresswatch.compute.state import Plan, grid_start, plan, revised_days, stored_state
from stresswatch.errors import StresswatchError
from stresswatch.fetchers.base import SeriesInfo
from stresswatch.indicators import Indicator
from stresswatch.indicators.calendar import business_grid
from stresswatch.indicators.composite import CompositeResult, History, composite
from stresswatch.indicators.rates import MeetingSchedule, load_meetings, meetings_path
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.observations import DerivedSeries

log = logging.getLogger(__name__)

SOURCE = "compute"
#: regime update outcomes that wrote a new run (see `regimes.RunSummary.status`)
NEW_RUN_STATUSES = ("cold", "warm", "filter")

Indicators = dict[str, tuple[Indicator, pd.Series, pd.Series]]


@dataclass
class ComputeResult:
    asof: dt.date
    inputs: dict[str, int] = field(default_factory=dict)
    composite: CompositeResult | None = None
    emp: pd.Series | None = None
    segments: list[str] = field(default_factory=list)
    written: dict[str, int] = field(default_factory=dict)
    regimes: str = "not run"
    regimes_error: str | None = None
    #: a regime model got a new run as of the date
    regimes_changed: bool = False
    warnings: list[str] = field(default_factory=list)
    #: "full" (the whole grid) or "append" (from `recomputed_from`, after the stored state)
    mode: str = "full"
    reason: str = ""
    recomputed_from: dt.date | None = None
    #: stored days before D whose recomputed values differed (revisions written; 0 = appended)
    revised_days: int = 0

    @property
    def rows(self) -> int:
        """Derived rows written (new values and revisions)."""
        return sum(self.written.values())

    def latest(self) -> dict[str, Any]:
        """The last index value and its parts (for the CLI summary)."""
        if self.composite is None or self.composite.index.dropna().empty:
            return {}
        idx = self.composite.index.dropna()
        day = idx.index[-1]
        out = {"date": day.date(), "stress.index": float(idx.iloc[-1]),
               "stress.index.pct": _at(self.composite.percentile, day),
               "stress.index.coverage": _at(self.composite.coverage, day)}
        for name in self.composite.segments.columns:
            out[f"segment.{name}"] = _at(self.composite.segments[name], day)
            out[f"contrib.{name}"] = _at(self.composite.contributions[name], day)
        for name, series in self.composite.beside.items():
            out[f"beside.{name}"] = _at(series, day)
        return out


def _at(s: pd.Series, day: pd.Timestamp) -> float | None:
    v = s.get(day)
    return None if v is None or pd.isna(v) else float(v)


def compute_block(inputs: Inputs, settings: Settings, asof: dt.date, block_start: pd.Timestamp | None = None,
                  history: History | None = None, meetings: MeetingSchedule | None = None
                  ) -> tuple[CompositeResult | None, pd.Series | None, Indicators]:
    """Pure part of `compute`: the composite result and EMP on the business days from
    `block_start` (default: `[compute] start`) to `asof`, after `history` (the grid days before
    `block_start`), and the stored indicators (id -> (indicator, values, effective day))."""
    cfg = settings["compute"]
    start = block_start if block_start is not None else grid_start(settings)
    end = pd.Timestamp(asof)
    grid = business_grid(start, end) if start <= end else pd.DatetimeIndex([], name="date")
    ctx = {"meetings": meetings or load_meetings(meetings_path(settings)), "asof": end}
    cache: dict[str, tuple[pd.Series, pd.Series]] = {}
    measures = build_measures(inputs, grid, ctx, cache)
    result = None
    if len(grid) and (measures or (history is not None and history.length)):
        if not measures:  # every input went quiet: the block still extends the history
            measures = {"fx": pd.DataFrame(index=grid)}
        result = composite(measures, cfg.get("weights") or None, lam=float(cfg["ewma_lambda"]),
                           burn_in=int(cfg["burn_in"]), history=history)
    emp_series = None
    indicators: Indicators = {}
    for cid, ind, params in computed(inputs.ids()):
        if cid == EMP_ID:
            values, eff = evaluate(ind, params, inputs, ctx)
            emp_series = on_grid(ind, values, eff, grid) if len(values) else None
        elif is_stored(cid):
            values, eff = cache.get(cid) or evaluate(ind, params, inputs, ctx)
            indicators[cid] = (ind, values, eff)
    return result, emp_series, indicators


def compute_all(inputs: Inputs, settings: Settings, asof: dt.date, meetings: MeetingSchedule | None = None
                ) -> tuple[CompositeResult | None, pd.Series | None, Indicators]:
    """`compute_block` over the whole grid (`[compute] start` to `asof`)."""
    return compute_block(inputs, settings, asof, meetings=meetings)


def compute(store: Store, settings: Settings, asof: dt.date, run_regimes: bool = True) -> ComputeResult:
    """Compute indicators and the composite as known on `asof` — appended to the stored state when
    it still applies (`compute.state`), else over the whole grid — write the derived series and
    the new state (one transaction), then run the regime update unless `run_regimes` is False.
    The inputs and indicators are released before the regime fits run, so the two working sets
    do not add up in one process's peak memory."""
    res = _compute_and_write(store, settings, asof)
    if run_regimes:
        _run_regimes(store, settings, asof, res)
    if res.rows or res.regimes_changed:
        store.alignments.delete(asof)
    return res


def _compute_and_write(store: Store, settings: Settings, asof: dt.date) -> ComputeResult:
    """The indicators-and-index half of `compute`: what it read, wrote and how (`ComputeResult`)."""
    started_at = utc_stamp(store.clock())
    p = plan(store, settings, asof)
    inputs = Inputs.from_store(store, asof, p.series, start=p.read_from)
    res = ComputeResult(asof=asof, inputs={sid: len(f) for sid, f in inputs.frames.items()}, mode=p.mode,
                        reason=p.reason, recomputed_from=p.block_start.date())
    if not any(sid.startswith("cbr.") for sid in inputs.ids()):
        res.warnings.append("no Bank of Russia series in the store as of "
                            f"{asof.isoformat()}; fetch or backfill first")
    result, emp_series, indicators = compute_block(inputs, settings, asof, p.block_start, p.history)
    res.composite, res.emp = result, emp_series
    log.info("compute as of %s: %s (%s), days from %s", asof, p.mode, p.reason, p.block_start.date())
    out: list[DerivedSeries] = []
    if result is not None:
        res.segments = list(result.segments.columns)
        _composite_series(out, result)
    if emp_series is not None:
        out.append(_derived("stress.emp", emp_series, "Exchange-market pressure (%Δe/σe + Δi/σi)",
                            "standard deviations"))
    _indicator_series(out, indicators, p.block_start, asof)
    with store.transaction():
        res.written = store.observations.write_derived_many(out, asof)
        if result is not None and p.save and len(result.index):
            res.revised_days = revised_days(p, result.history)
            store.compute_state.save(stored_state(p, result.history, asof, started_at))
    return res


def _composite_series(out: list[DerivedSeries], result: CompositeResult) -> None:
    out.append(_derived("stress.index", result.index, "Composite stress index (mean of squared segment scores)",
                        "index, 0..1"))
    out.append(_derived("stress.index.pct", result.percentile, "Recursive percentile of the stress index",
                        "fraction, 0..1"))
    out.append(_derived("stress.index.coverage", result.coverage, "Share of the ranked segments in the stress index",
                        "fraction, 0..1"))
    out.append(_derived("stress.corr", result.corr_mean, "Mean EWMA correlation between stress segments (diagnostic)",
                        "correlation"))
    for name in result.segments.columns:
        out.append(_derived(f"stress.segment.{name}", result.segments[name], f"Stress sub-index: {name}",
                            "fraction, 0..1"))
        out.append(_derived(f"stress.contrib.{name}", result.contributions[name],
                            f"Contribution of the {name} segment to the stress index", "index points"))
    for name, series in result.beside.items():
        out.append(_derived(f"stress.beside.{name}", series,
                            f"Monthly {name} measures beside the stress index (mean recursive rank)", "fraction, 0..1"))


def _indicator_series(out: list[DerivedSeries], indicators: Indicators, block_start: pd.Timestamp,
                      asof: dt.date) -> None:
    """ind.<id>: the values from the first recomputed day on that are known by `asof`."""
    known_by = np.datetime64(pd.Timestamp(asof).date(), "D")
    first = np.datetime64(block_start.date(), "D")
    for cid, (ind, values, eff) in indicators.items():
        ref = values.index.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        known = eff.reindex(values.index).to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        known = np.where(np.isnat(known), ref, known)
        keep = (ref >= first) & (known <= known_by)
        out.append(_derived(f"ind.{cid}", values[keep], ind.summary, ind.unit,
                            known_at=pd.Series(known[keep], index=values.index[keep]),
                            frequency="M" if ind.frequency == "M" else "D"))


def _derived(sid: str, values: pd.Series, name: str, unit: str, known_at: pd.Series | None = None,
             frequency: str = "D") -> DerivedSeries:
    info = SeriesInfo(sid, SOURCE, name[:200], unit, frequency, 0)
    values = values.astype(float).replace([np.inf, -np.inf], np.nan)
    return DerivedSeries(info, values, known_at)


def _run_regimes(store: Store, settings: Settings, asof: dt.date, res: ComputeResult) -> None:
    """Update every configured regime model to `asof`; a model that fails is a warning on the
    result (`regimes_error`), not a failed compute: the index is still good for the day."""
    from stresswatch.regimes.update import update_all

    try:
        outcome = update_all(store, settings, asof)
    except StresswatchError as exc:
        res.regimes = "failed"
        res.regimes_error = str(exc)
        log.error("regime update failed: %s", exc)
        return
    res.regimes = "; ".join(f"{o.model_id}: {o.status}" for o in outcome) or "no models"
    res.regimes_changed = any(o.status in NEW_RUN_STATUSES for o in outcome)
    failed = [o for o in outcome if o.status == "failed"]
    if failed:
        res.regimes_error = "; ".join(f"{o.model_id}: {o.message}" for o in failed)


__all__ = ["ComputeResult", "Plan", "compute", "compute_all", "compute_block"]
