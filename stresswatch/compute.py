"""The compute step: indicators and the composite stress index as known on a date, written back to
the store as derived series, then the regime update.

Inputs are read with `store.observations.read_vintaged(series_id, asof)` (per date the latest vintage known by
`asof`, with its known_at). Every indicator value is dated by when it became computable
(`calendar.effective_dates`: its reference date or the latest known_at of the rows it uses,
whichever is later) and placed on the business-day grid from that day on (`calendar.place_on_grid`).
A monthly trade value therefore enters the daily index on its known_at date, never on its
reference date. Series written (source "compute"):

  stress.index, stress.index.pct (its recursive percentile), stress.corr (mean EWMA correlation),
  stress.segment.<name>, stress.contrib.<name>, stress.emp, and ind.<indicator id> for the
  indicators in STORED (FX, policy, markets, trade).

The event-study alignment stored for a date is derived from that date's analysis: a compute as of
D that changes it (derived rows written, or a new regime run) forgets the alignment stored for D
(`store.alignments`), so the report aligns afresh until the daily cycle stores a new one.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from stresswatch.errors import StresswatchError, UsageError
from stresswatch.fetchers.base import SeriesInfo
from stresswatch.indicators import Indicator, expand, resolve
from stresswatch.indicators.calendar import business_grid, effective_dates, place_on_grid
from stresswatch.indicators.composite import FX_CODES, MEASURES, CompositeResult, composite
from stresswatch.indicators.rates import MeetingSchedule, load_meetings, meetings_path
from stresswatch.regimes.update import update_all
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

SOURCE = "compute"
#: store series the indicators read (prefixes)
INPUT_PREFIXES = ("cbr.fx.", "cbr.keyrate", "bis.cbpol.", "fred.DCOILBRENTEU", "moex.index.IMOEX",
                  "imf.imts.", "comtrade.")
#: regime update outcomes that wrote a new run (see `regimes.RunSummary.status`)
NEW_RUN_STATUSES = ("cold", "warm", "filter")
#: carry-forward limits on the grid, in business days
DAILY_LIMIT = 10
MONTHLY_LIMIT = 70
#: indicators written to the store as ind.<id> (regular expressions on concrete ids)
STORED = (r"fx\.(logret|rv20|rv60|cmax)\.\w+", r"fx\.dep\.(rub_per_unit|ruble_value)\.(1d|1m|ytd|12m)\.(USD|EUR|CNY)",
          r"policy\.(keyrate|extraordinary|spread_us|rank|tightening)", r"markets\.\w+\.(logret|rv20|cmax)",
          r"trade\.\w+\.(exports|imports|balance)(\.growth12|\.avg3m)?")


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
               "stress.index.pct": _at(self.composite.percentile, day)}
        for name in self.composite.segments.columns:
            out[f"segment.{name}"] = _at(self.composite.segments[name], day)
            out[f"contrib.{name}"] = _at(self.composite.contributions[name], day)
        return out


def _at(s: pd.Series, day: pd.Timestamp) -> float | None:
    v = s.get(day)
    return None if v is None or pd.isna(v) else float(v)


# ---------------------------------------------------------------------------------------------
# reading inputs
# ---------------------------------------------------------------------------------------------
class Inputs:
    """Input frames (date, value, known_at) read once per compute, as of `asof`, and each series'
    publication lag in days (`lags`; 0 when unknown)."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], lags: Mapping[str, int] | None = None):
        self.frames = {k: v for k, v in frames.items() if not v.empty}
        self.lags = {k: int((lags or {}).get(k, 0)) for k in self.frames}

    @classmethod
    def from_store(cls, store: Store, asof: dt.date, series: Iterable[str] | None = None) -> "Inputs":
        listing = {s["id"]: s for s in store.observations.list_series() if s["id"].startswith(INPUT_PREFIXES)}
        ids = list(series) if series is not None else list(listing)
        lags = {sid: listing[sid]["publication_lag_days"] for sid in ids if sid in listing}
        return cls({sid: store.observations.read_vintaged(sid, asof=asof) for sid in ids}, lags)

    def grid_end(self, sid: str, asof: pd.Timestamp) -> pd.Timestamp:
        """The last day a row of `sid` must have been published for by `asof`: asof − its lag."""
        return pd.Timestamp(asof) - pd.Timedelta(days=self.lags.get(sid, 0))

    def ids(self) -> set[str]:
        return set(self.frames)

    def series(self, sid: str) -> pd.Series:
        f = self.frames[sid]
        return pd.Series(f["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(f["date"], name="date"), name=sid)

    def known_at(self, sid: str) -> pd.Series:
        f = self.frames[sid]
        return pd.Series(pd.DatetimeIndex(f["known_at"]), index=pd.DatetimeIndex(f["date"], name="date"), name=sid)


def _input_ids(ind: Indicator, params: Mapping[str, str], have: set[str]) -> list[str]:
    ids = []
    for template in ind.inputs + ind.optional_inputs:
        sid = template.format(**params)
        if sid.endswith("*"):
            ids.extend(sorted(s for s in have if s.startswith(sid[:-1])))
        elif sid in have:
            ids.append(sid)
    return ids


def evaluate(ind: Indicator, params: Mapping[str, str], inputs: Inputs,
             ctx: Mapping[str, Any]) -> tuple[pd.Series, pd.Series]:
    """(values, effective day) of one concrete indicator, both indexed by reference date."""
    ids = _input_ids(ind, params, inputs.ids())
    if "asof" in ctx and ids:
        ctx = dict(ctx, end=inputs.grid_end(ids[0], ctx["asof"]))
    values = ind.compute({sid: inputs.series(sid) for sid in ids}, ctx).dropna()
    if values.empty:
        return values, pd.Series(dtype="datetime64[ns]")
    out_index = values.index
    fallbacks = dict(ind.fallbacks)
    known = pd.Series(pd.NaT, index=out_index, dtype="datetime64[ns]")
    for sid in ids:
        k = inputs.known_at(sid).sort_index()
        pos = k.index.searchsorted(out_index, side="right") - 1
        at = np.clip(pos, 0, None)
        kv = np.where(pos >= 0, k.to_numpy(dtype="datetime64[ns]")[at], np.datetime64("NaT", "ns"))
        lag = inputs.lags.get(sid, 0)
        if lag:  # a day without its own row is known to have none only once its row was due
            carried = (pos >= 0) & (k.index.to_numpy()[at] < out_index.to_numpy())
            due = (out_index + pd.Timedelta(days=lag)).to_numpy()
            kv = np.where(carried, np.maximum(kv, due), kv)
        primary = fallbacks.get(sid)
        if primary in ids:  # a fallback dates only the values computed before its primary starts
            kv = np.where(out_index < inputs.frames[primary]["date"].min(), kv, np.datetime64("NaT", "ns"))
        known = pd.concat([known, pd.Series(kv, index=out_index)], axis=1).max(axis=1)
    eff = effective_dates(known, ind.lookback)
    return values, eff


def on_grid(ind: Indicator, values: pd.Series, eff: pd.Series, grid: pd.DatetimeIndex) -> pd.Series:
    limit = MONTHLY_LIMIT if ind.frequency in ("M", "Q", "A") else DAILY_LIMIT
    return place_on_grid(values, eff, grid, limit=limit)


# ---------------------------------------------------------------------------------------------
# the composite
# ---------------------------------------------------------------------------------------------
def measure_ids(available: set[str]) -> dict[str, list[tuple[str, float]]]:
    """Concrete measure ids per segment given the stored input series."""
    computable = {cid for cid, _, _ in expand(available)}
    out: dict[str, list[tuple[str, float]]] = {}
    for segment, specs in MEASURES.items():
        chosen = []
        for pattern, sign in specs:
            candidates = [pattern.format(code=c) for c in FX_CODES] if "{code}" in pattern else [pattern]
            chosen.extend((c, sign) for c in candidates if c in computable)
        if chosen:
            out[segment] = chosen
    return out


def build_measures(inputs: Inputs, grid: pd.DatetimeIndex, ctx: Mapping[str, Any],
                   cache: dict[str, tuple[pd.Series, pd.Series]] | None = None) -> dict[str, pd.DataFrame]:
    cache = {} if cache is None else cache
    out = {}
    for segment, specs in measure_ids(inputs.ids()).items():
        cols = {}
        for cid, sign in specs:
            ind, params = resolve(cid)
            if cid not in cache:
                cache[cid] = evaluate(ind, params, inputs, ctx)
            values, eff = cache[cid]
            cols[cid] = sign * on_grid(ind, values, eff, grid)
        frame = pd.DataFrame(cols, index=grid)
        if frame.notna().any().any():
            out[segment] = frame
    return out


def compute_all(inputs: Inputs, settings: Settings, asof: dt.date,
                meetings: MeetingSchedule | None = None) -> tuple[CompositeResult | None, pd.Series | None,
                                                                   dict[str, tuple[Indicator, pd.Series, pd.Series]]]:
    """Pure part of `compute`: composite result, EMP on the grid and the stored indicators
    (id -> (indicator, values, effective day)), from already-read inputs."""
    cfg = settings["compute"]
    start = pd.Timestamp(cfg["start"])
    end = pd.Timestamp(asof)
    grid = business_grid(start, end) if start <= end else pd.DatetimeIndex([], name="date")
    ctx = {"meetings": meetings or load_meetings(meetings_path(settings)), "asof": end}
    cache: dict[str, tuple[pd.Series, pd.Series]] = {}
    measures = build_measures(inputs, grid, ctx, cache)
    result = None
    if measures and len(grid):
        result = composite(measures, cfg.get("weights") or None, lam=float(cfg["ewma_lambda"]),
                           burn_in=int(cfg["burn_in"]))
    emp_series = None
    indicators: dict[str, tuple[Indicator, pd.Series, pd.Series]] = {}
    for cid, ind, params in expand(inputs.ids()):
        if cid == "emp":
            values, eff = evaluate(ind, params, inputs, ctx)
            emp_series = on_grid(ind, values, eff, grid) if len(values) else None
            continue
        if not any(re.fullmatch(p, cid) for p in STORED):
            continue
        values, eff = cache.get(cid) or evaluate(ind, params, inputs, ctx)
        indicators[cid] = (ind, values, eff)
    return result, emp_series, indicators


def compute(store: Store, settings: Settings, asof: dt.date, run_regimes: bool = True) -> ComputeResult:
    """Compute indicators and the composite as known on `asof`, write the derived series (one
    transaction), then run the regime update (`stresswatch.regimes.update.update_all`) unless
    `run_regimes` is False."""
    inputs = Inputs.from_store(store, asof)
    res = ComputeResult(asof=asof, inputs={sid: len(f) for sid, f in inputs.frames.items()})
    if not any(sid.startswith("cbr.") for sid in inputs.ids()):
        res.warnings.append("no Bank of Russia series in the store as of "
                            f"{asof.isoformat()}; fetch or backfill first")
    result, emp_series, indicators = compute_all(inputs, settings, asof)
    res.composite, res.emp = result, emp_series
    start = pd.Timestamp(settings["compute"]["start"])
    with store.transaction():
        if result is not None:
            res.segments = list(result.segments.columns)
            _write(store, res, "stress.index", result.index, "CISS-style composite stress index", "index, 0..1", asof)
            _write(store, res, "stress.index.pct", result.percentile,
                   "Recursive percentile of the stress index", "fraction, 0..1", asof)
            _write(store, res, "stress.corr", result.corr_mean,
                   "Mean EWMA correlation between stress segments", "correlation", asof)
            for name in result.segments.columns:
                _write(store, res, f"stress.segment.{name}", result.segments[name],
                       f"Stress sub-index: {name}", "fraction, 0..1", asof)
                _write(store, res, f"stress.contrib.{name}", result.contributions[name],
                       f"Contribution of the {name} segment to the stress index", "index points", asof)
        if emp_series is not None:
            _write(store, res, "stress.emp", emp_series, "Exchange-market pressure (%Δe/σe + Δi/σi)",
                   "standard deviations", asof)
        for cid, (ind, values, eff) in indicators.items():
            keep = values.index >= start
            _write(store, res, f"ind.{cid}", values[keep], ind.summary, ind.unit, asof,
                   known_at=eff[keep], frequency="M" if ind.frequency == "M" else "D")
    if run_regimes:
        _run_regimes(store, settings, asof, res)
    if res.rows or res.regimes_changed:
        store.alignments.delete(asof)
    return res


def _write(store: Store, res: ComputeResult, sid: str, values: pd.Series, name: str, unit: str, asof: dt.date,
           known_at: pd.Series | None = None, frequency: str = "D") -> None:
    info = SeriesInfo(sid, SOURCE, name[:200], unit, frequency, 0)
    values = values.astype(float).replace([np.inf, -np.inf], np.nan)
    if known_at is not None:
        known_at = known_at.fillna(pd.Series(values.index, index=values.index))
    res.written[sid] = store.observations.write_derived(info, values, known_at=known_at, asof=asof)


def _run_regimes(store: Store, settings: Settings, asof: dt.date, res: ComputeResult) -> None:
    """Update every configured regime model to `asof`; a model that fails is a warning on the
    result (`regimes_error`), not a failed compute: the index is still good for the day."""
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


# ---------------------------------------------------------------------------------------------
# on-the-fly evaluation for `indicators show`
# ---------------------------------------------------------------------------------------------
COMPOSITE_IDS = ("stress.index", "stress.index.pct", "stress.corr", "stress.emp")


def show(store: Store, settings: Settings, indicator_id: str, asof: dt.date) -> pd.DataFrame:
    """DataFrame[date, value, known] for one indicator (or stress.* series) as known on `asof`."""
    inputs = Inputs.from_store(store, asof)
    if indicator_id.startswith("stress."):
        result, emp_series, _ = compute_all(inputs, settings, asof)
        series = _composite_series(indicator_id, result, emp_series)
        s = series.dropna()
        return pd.DataFrame({"date": s.index, "value": s.to_numpy(), "known": s.index})
    try:
        ind, params = resolve(indicator_id)
    except KeyError:
        raise UsageError(f"unknown indicator {indicator_id!r}; see `stresswatch indicators list`") from None
    missing = [i.format(**params) for i in ind.inputs
               if not (i.endswith("*") and any(s.startswith(i[:-1]) for s in inputs.ids()))
               and not i.endswith("*") and i.format(**params) not in inputs.ids()]
    if missing:
        raise UsageError(f"{indicator_id} needs {', '.join(missing)}, which the store does not hold as of "
                         f"{asof.isoformat()}")
    values, eff = evaluate(ind, params, inputs, {"meetings": load_meetings(meetings_path(settings)),
                                                 "asof": pd.Timestamp(asof)})
    values = values.dropna()
    eff = eff.reindex(values.index)
    keep = (eff <= pd.Timestamp(asof)).to_numpy()
    return pd.DataFrame({"date": values.index[keep], "value": values.to_numpy()[keep],
                         "known": pd.DatetimeIndex(eff[keep])})


def _composite_series(sid: str, result: CompositeResult | None, emp_series: pd.Series | None) -> pd.Series:
    if sid == "stress.emp":
        if emp_series is None:
            raise UsageError("stress.emp needs cbr.fx.USD in the store")
        return emp_series
    if result is None:
        raise UsageError("the stress index needs Bank of Russia series in the store; fetch or backfill first")
    if sid == "stress.index":
        return result.index
    if sid == "stress.index.pct":
        return result.percentile
    if sid == "stress.corr":
        return result.corr_mean
    kind, _, name = sid[len("stress."):].partition(".")
    if kind == "segment" and name in result.segments:
        return result.segments[name]
    if kind == "contrib" and name in result.contributions:
        return result.contributions[name]
    raise UsageError(f"unknown series {sid!r}; segments present: {', '.join(result.segments.columns)}")
