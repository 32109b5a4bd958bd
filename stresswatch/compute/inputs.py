"""Reading the compute step's inputs as of a date and turning them into dated indicator values.

`Inputs.from_store(store, D, series, start)` reads, per input series, the latest vintage of each
date known by D (`store.observations.read_vintaged`), from its `start` date on when given, with
the row in force on that date (the daily append reads only what its new days depend on:
`read_windows`), and each series' publication lag.

Every indicator value is dated by when it became computable (`evaluate`: its reference date or
the latest known_at of the input rows it uses, whichever is later; a day on which a lagged input
has no row of its own counts as known only when that row was due; a fallback input dates only
the values computed before its primary input starts) and placed on the business-day grid from
that day on (`on_grid`). A monthly trade value therefore enters the daily index on its known_at
date, never on its reference date. `build_measures` gives the index's raw measures on a grid.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from stresswatch.indicators import Indicator, expand, resolve
from stresswatch.indicators.calendar import DAILY_STALE_LIMIT, effective_dates, place_on_grid
from stresswatch.indicators.composite import FX_CODES, MEASURES
from stresswatch.store import Store

#: store series the indicators read (prefixes)
INPUT_PREFIXES = ("cbr.fx.", "cbr.keyrate", "bis.cbpol.", "fred.DCOILBRENTEU", "moex.index.IMOEX",
                  "imf.imts.", "comtrade.")
#: carry-forward limits on the grid, in business days
DAILY_LIMIT = DAILY_STALE_LIMIT
MONTHLY_LIMIT = 70
#: business days a value may be carried forward on top of an indicator's lookback (the monthly
#: limit, with a margin)
CARRY_BDAYS = MONTHLY_LIMIT + 20
_CODES = "|".join(FX_CODES)
#: indicators written to the store as ind.<id> (regular expressions on concrete ids): the
#: per-currency ones for the index currencies only; any other currency is shown on the fly
#: (`stresswatch indicators show fx.rv20.JPY`), so memory and store follow what the index uses
STORED = (rf"fx\.(logret|rv20|rv60|cmax)\.({_CODES})", rf"fx\.dep\.(rub_per_unit|ruble_value)\.(1d|1m|ytd|12m)\.({_CODES})",
          r"policy\.(keyrate|extraordinary|spread_us|rank|tightening)", r"markets\.\w+\.(logret|rv20|cmax)",
          r"trade\.\w+\.(exports|imports|balance)(\.growth12|\.avg3m)?")
EMP_ID = "emp"


class Inputs:
    """Input frames (date, value, known_at) read once per compute, as of `asof`, and each series'
    publication lag in days (`lags`; 0 when unknown)."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], lags: Mapping[str, int] | None = None):
        self.frames = {k: v for k, v in frames.items() if not v.empty}
        self.lags = {k: int((lags or {}).get(k, 0)) for k in self.frames}
        self._series: dict[str, pd.Series] = {}
        self._known: dict[str, pd.Series] = {}

    @classmethod
    def from_store(cls, store: Store, asof: dt.date, series: Iterable[str] | None = None,
                   start: Mapping[str, dt.date] | None = None) -> "Inputs":
        """Read `series` (default: every stored input series) as known on `asof`; a series named
        in `start` from that date on, with the row in force on it (see `read_windows`)."""
        lags = store.observations.series_lags(INPUT_PREFIXES)
        ids = list(series) if series is not None else list(lags)
        start = start or {}
        return cls({sid: store.observations.read_vintaged(sid, asof=asof, start=start.get(sid), in_force=True)
                    for sid in ids}, {sid: lags.get(sid, 0) for sid in ids})

    def ids(self) -> set[str]:
        return set(self.frames)

    def series(self, sid: str) -> pd.Series:
        """Values by reference date (one Series per input, built once; callers do not modify it)."""
        if sid not in self._series:
            f = self.frames[sid]
            self._series[sid] = pd.Series(f["value"].to_numpy(dtype=float),
                                          index=pd.DatetimeIndex(f["date"], name="date"), name=sid)
        return self._series[sid]

    def known_at(self, sid: str) -> pd.Series:
        """known_at by reference date, sorted (built once)."""
        if sid not in self._known:
            f = self.frames[sid]
            self._known[sid] = pd.Series(pd.DatetimeIndex(f["known_at"]), index=pd.DatetimeIndex(f["date"], name="date"),
                                         name=sid).sort_index()
        return self._known[sid]

    def grid_end(self, sid: str, asof: pd.Timestamp) -> pd.Timestamp:
        """The last day a row of `sid` must have been published for by `asof`: asof − its lag."""
        return pd.Timestamp(asof) - pd.Timedelta(days=self.lags.get(sid, 0))


def input_ids(ind: Indicator, params: Mapping[str, str], have: set[str]) -> list[str]:
    """The stored series one concrete indicator reads, among `have` (first input first)."""
    ids = []
    for template in ind.inputs + ind.optional_inputs:
        sid = template.format(**params)
        if sid.endswith("*"):
            ids.extend(sorted(s for s in have if s.startswith(sid[:-1])))
        elif sid in have:
            ids.append(sid)
    return ids


def is_stored(cid: str) -> bool:
    return any(re.fullmatch(p, cid) for p in STORED)


def computed(available: Iterable[str]) -> list[tuple[str, Indicator, dict[str, str]]]:
    """The concrete indicators a compute evaluates given the stored series: the index measures,
    EMP and the stored ones (`STORED`)."""
    have = set(available)
    wanted = {cid for specs in measure_ids(have).values() for cid, _ in specs}
    return [(cid, ind, params) for cid, ind, params in expand(have)
            if cid in wanted or cid == EMP_ID or is_stored(cid)]


def needed_series(available: Iterable[str]) -> list[str]:
    """The input series those indicators read (what a compute reads from the store)."""
    have = set(available)
    out: set[str] = set()
    for _, ind, params in computed(have):
        out.update(input_ids(ind, params, have))
    return sorted(out)


def read_windows(available: Iterable[str], first_day: pd.Timestamp) -> dict[str, dt.date]:
    """From which date each input series must be read so that every computed indicator is exact
    from `first_day` on: its lookback (rows; a month counts 23 business days) plus `CARRY_BDAYS`
    of carry-forward before `first_day`, for the indicator reading it that looks back furthest.
    With the row in force on that date (`Inputs.from_store`), a value carried forward without a
    limit is exact too."""
    have = set(available)
    bdays: dict[str, int] = {}
    for _, ind, params in computed(have):
        rows = ind.lookback * (23 if ind.frequency in ("M", "Q", "A") else 1)
        for sid in input_ids(ind, params, have):
            bdays[sid] = max(bdays.get(sid, 0), rows + CARRY_BDAYS)
    return {sid: (first_day - pd.offsets.BDay(n)).date() for sid, n in bdays.items()}


def evaluate(ind: Indicator, params: Mapping[str, str], inputs: Inputs,
             ctx: Mapping[str, Any]) -> tuple[pd.Series, pd.Series]:
    """(values, effective day) of one concrete indicator, both indexed by reference date.
    `ctx["asof"]` (when given) is the as-of date: each input's grid runs to it minus its lag."""
    ids = input_ids(ind, params, inputs.ids())
    if "asof" in ctx and ids:
        ctx = dict(ctx, end=inputs.grid_end(ids[0], ctx["asof"]))
    values = ind.compute({sid: inputs.series(sid) for sid in ids}, ctx).dropna()
    if values.empty:
        return values, pd.Series(dtype="datetime64[ns]")
    out_index = values.index
    fallbacks = dict(ind.fallbacks)
    known = np.full(len(out_index), np.datetime64("NaT", "ns"))
    for sid in ids:
        k = inputs.known_at(sid)
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
        known = np.where(np.isnat(known) | (kv > known), kv, known)
    eff = effective_dates(pd.Series(known, index=out_index), ind.lookback)
    return values, eff


def on_grid(ind: Indicator, values: pd.Series, eff: pd.Series, grid: pd.DatetimeIndex) -> pd.Series:
    limit = MONTHLY_LIMIT if ind.frequency in ("M", "Q", "A") else DAILY_LIMIT
    return place_on_grid(values, eff, grid, limit=limit)


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
    """The index's raw measures (segment -> grid × measures, higher = more stress); `cache`
    collects each evaluated indicator's (values, effective day) for reuse."""
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
