"""The composite stress index for one country, computed without look-ahead (issue 12).

Steps (all causal: the value on day t uses observations up to t only, so appending later rows
never changes it — "truncation invariance"):

1. Raw measures, oriented so that higher = more stress, on the business-day grid (`compute`
   places every input on the day it became known). `MEASURES` lists them per segment.
2. Each measure → its recursive empirical CDF: z_t = (average rank of x_t among the non-missing
   x_1..x_t) / n_t, NaN until n_t reaches the burn-in B (`BURN_IN` = 500 business days).
   Ties share their average rank. `rank_block` ranks a block of new days against a history of
   earlier values with a Fenwick tree: O((n + m) log n), the whole history in one call or one
   new day against 25 years of history.
3. Segment s_i,t = mean of its ranked measures present on t (∈ [0, 1]).
4. Index_t = Σ_i w_i,t · s_i,t²: the weighted mean of the squared segment scores over the
   segments ranked on t, weights (configured, default equal) renormalised over them each day.
   Contribution of segment i = w_i,t · s_i,t²; the contributions sum to the index. This is the
   CISS quadratic form (w∘s)ᵀ C (w∘s) with C = I rescaled to span [0, 1]: the time-varying
   correlation matrix is not part of the aggregation (docs/indicators.md gives the comparison
   and the numbers behind that decision).
5. Publication: nothing before the index is established, i.e. before the first day t0 on which
   every segment that has raw data on t0 is ranked. From t0 on the index is published over the
   segments ranked that day; `coverage` = share of the segments ranked so far that are in the
   index on t (1.0 = complete; < 1 when a source went stale). A segment that appears after t0
   joins once ranked.
6. `percentile` = recursive ECDF of the published index with the same burn-in; `corr_mean` =
   mean EWMA correlation of s − 0.5 between the segments in the index (λ = `lam`): a diagnostic
   kept from CISS (`stress.corr`), not a weight.
7. Monthly, lagged measures (segment "trade") are not in the daily index: `beside["trade"]` is
   the mean of their recursive ranks, each ranked over the days a new monthly value entered the
   grid (burn-in `MONTHLY_BURN_IN` values), carried forward like its inputs.

`composite(measures, history=...)` computes a block of grid days after a `History` (the raw
measures, segment scores and index of the days before it): the daily compute appends one day
to 25 years that way and gets what a computation of the whole grid gives for that day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

#: segments of the daily index, in display order
SEGMENTS = ("fx", "policy", "equity", "external")
#: monthly segments published beside the index, never inside it
BESIDE = ("trade",)

#: Raw measures per segment: (indicator id pattern, sign). `{code}` expands to every stored
#: `cbr.fx.<code>` among FX_CODES. Sign −1 turns "low is bad" measures (trade growth) around.
MEASURES: dict[str, tuple[tuple[str, float], ...]] = {
    "fx": (("fx.rv20.{code}", 1.0), ("fx.cmax.{code}", 1.0), ("fx.dep.rub_per_unit.1m.{code}", 1.0)),
    "policy": (("policy.tightening", 1.0), ("policy.change_1m_abs", 1.0)),
    "equity": (("markets.imoex.rv20", 1.0), ("markets.imoex.cmax", 1.0)),
    "external": (("markets.brent.rv20", 1.0), ("markets.brent.cmax", 1.0)),
    "trade": (("trade.imf.exports.growth12", -1.0), ("trade.imf.imports.growth12", -1.0),
              ("trade.comtrade.exports.growth12", -1.0), ("trade.comtrade.imports.growth12", -1.0)),
}
#: the currencies whose measures enter the fx segment (the headline currencies)
FX_CODES = ("USD", "EUR", "CNY")
#: observations a measure needs before it is ranked: 2 years of business days
BURN_IN = 500
#: monthly values a beside-the-index measure needs before it is ranked (2 years of months)
MONTHLY_BURN_IN = 24
#: EWMA decay of the correlation diagnostic `stress.corr` (CISS's value; not a weight)
DEFAULT_LAMBDA = 0.93


# ---------------------------------------------------------------------------------------------
# recursive ranks
# ---------------------------------------------------------------------------------------------
def rank_block(history: np.ndarray, block: np.ndarray, burn_in: int = BURN_IN) -> np.ndarray:
    """Recursive ECDF of the `block` values after the `history` values (both in time order,
    NaN = missing): for a block value x_t, (number of earlier-or-equal-day values below x_t +
    (number equal to x_t, itself included, + 1) / 2) / n_t, with n_t the non-missing values up to
    t; NaN while n_t < burn_in and where x_t is missing. Fenwick tree over the distinct values,
    preloaded with the history's counts: O((n + m) log n) for n history and m block values."""
    hist = np.asarray(history, dtype=float)
    new = np.asarray(block, dtype=float)
    out = np.full(len(new), np.nan)
    hist = hist[~np.isnan(hist)]
    present = ~np.isnan(new)
    vals = new[present]
    if len(vals) == 0:
        return out
    uniq = np.unique(np.concatenate([hist, vals]))
    m = len(uniq)
    counts = np.bincount(np.searchsorted(uniq, hist) + 1, minlength=m + 1).astype(np.int64)
    cum = np.cumsum(counts)
    pos = np.arange(m + 1)
    low = pos & -pos
    tree_arr = cum - cum[pos - low]
    tree_arr[0] = 0
    tree = tree_arr.tolist()
    equal = counts.tolist()
    ranks = (np.searchsorted(uniq, vals) + 1).tolist()
    res = [np.nan] * len(vals)
    n = len(hist)
    start = max(1, int(burn_in))
    for k, r in enumerate(ranks):
        i = r
        while i <= m:
            tree[i] += 1
            i += i & -i
        equal[r] += 1
        n += 1
        if n >= start:
            less = 0
            i = r - 1
            while i > 0:
                less += tree[i]
                i -= i & -i
            res[k] = (less + (equal[r] + 1) / 2.0) / n
    out[present] = res
    return out


def recursive_ecdf(x: pd.Series, burn_in: int = BURN_IN) -> pd.Series:
    """z_t = (average rank of x_t among the non-missing x_1..x_t) / n_t; NaN before n_t = burn_in
    and where x_t is missing (`rank_block` with an empty history)."""
    z = rank_block(np.empty(0), x.to_numpy(dtype=float), burn_in)
    return pd.Series(z, index=x.index, name=x.name)


def recursive_ecdf_naive(x: pd.Series, burn_in: int = BURN_IN) -> pd.Series:
    """Same as `recursive_ecdf`, by brute force (O(n²)); the benchmark baseline and test oracle."""
    v = x.to_numpy(dtype=float)
    out = np.full(len(v), np.nan)
    seen: list[float] = []
    for t, value in enumerate(v):
        if np.isnan(value):
            continue
        seen.append(value)
        n = len(seen)
        if n >= burn_in:
            arr = np.asarray(seen)
            out[t] = ((arr < value).sum() + ((arr == value).sum() + 1) / 2.0) / n
    return pd.Series(out, index=x.index, name=x.name)


# ---------------------------------------------------------------------------------------------
# what the index knows about the days before a block
# ---------------------------------------------------------------------------------------------
@dataclass
class History:
    """The grid days before a block, one value per business day (NaN = missing): raw measures
    ("segment:measure", higher = more stress), monthly measures published beside the index, the
    segment scores and the published index. `History.empty()` is "nothing before"."""

    length: int = 0
    measures: dict[str, np.ndarray] = field(default_factory=dict)
    beside: dict[str, np.ndarray] = field(default_factory=dict)
    segments: dict[str, np.ndarray] = field(default_factory=dict)
    index: np.ndarray = field(default_factory=lambda: np.empty(0))

    @classmethod
    def empty(cls) -> "History":
        return cls()

    def column(self, group: dict[str, np.ndarray], name: str) -> np.ndarray:
        """A stored column, or all-missing when the history never had it."""
        col = group.get(name)
        return col if col is not None else np.full(self.length, np.nan)


def measure_columns(measures: Mapping[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """"segment:measure" -> raw values, for every measure of every segment."""
    return {f"{segment}:{col}": frame[col] for segment, frame in measures.items()
            if frame is not None for col in frame.columns}


# ---------------------------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------------------------
@dataclass
class CompositeResult:
    index: pd.Series
    segments: pd.DataFrame
    contributions: pd.DataFrame
    corr_mean: pd.Series
    weights: dict[str, float]
    transformed: pd.DataFrame = field(default_factory=pd.DataFrame)
    percentile: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    #: first published day (None: not established by the end of the grid)
    published_from: pd.Timestamp | None = None
    #: share of the segments ranked so far that are in the index each day (NaN before publication)
    coverage: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    #: monthly measures published beside the index (segment -> grid series)
    beside: dict[str, pd.Series] = field(default_factory=dict)
    #: the history through the last grid day of this result (to append the next block to)
    history: History = field(default_factory=History.empty)


def resolve_weights(segments: list[str], configured: Mapping[str, float] | None) -> dict[str, float]:
    """Weights for the segments that exist: the configured ones (missing segments dropped), equal
    when none are configured; normalised to sum to 1. A configured weight of 0 drops a segment."""
    if not segments:
        return {}
    if configured:
        raw = {s: float(configured.get(s, 0.0)) for s in segments}
        if sum(raw.values()) <= 0:
            raw = {s: 1.0 for s in segments}
    else:
        raw = {s: 1.0 for s in segments}
    total = sum(raw.values())
    return {s: v / total for s, v in raw.items()}


def _ordered(names) -> list[str]:
    names = list(dict.fromkeys(names))
    known = [s for s in SEGMENTS + BESIDE if s in names]
    return known + [s for s in names if s not in known]


# ---------------------------------------------------------------------------------------------
# the pieces
# ---------------------------------------------------------------------------------------------
def segment_scores(measures: Mapping[str, pd.DataFrame], burn_in: int = BURN_IN,
                   history: History | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank every measure by its recursive ECDF (after `history`) and average per segment.

    `measures`: segment name -> DataFrame (grid × measures, higher = more stress). Returns
    (segments: grid × segment, transformed: grid × "segment:measure"); a segment none of whose
    measures is ranked yet is all-missing."""
    history = history or History.empty()
    segs, transformed = {}, {}
    index = None
    for name, frame in measures.items():
        if frame is None or frame.shape[1] == 0:
            continue
        index = frame.index
        z = np.column_stack([rank_block(history.column(history.measures, f"{name}:{c}"),
                                        frame[c].to_numpy(dtype=float), burn_in) for c in frame.columns])
        for j, col in enumerate(frame.columns):
            transformed[f"{name}:{col}"] = z[:, j]
        segs[name] = _row_mean(z)
    if index is None:
        return pd.DataFrame(), pd.DataFrame()
    seg_df = pd.DataFrame(segs, index=index)
    return seg_df[_ordered(seg_df.columns)], pd.DataFrame(transformed, index=index)


def _row_mean(z: np.ndarray) -> np.ndarray:
    """Mean of the non-missing values of each row (NaN where none); row by row, so a day's value
    does not depend on how many days are computed with it."""
    z = np.ascontiguousarray(z, dtype=float)
    count = (~np.isnan(z)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.nansum(z, axis=1) / np.maximum(count, 1), np.nan)


def mean_of_squares(segments: pd.DataFrame, weights: Mapping[str, float] | None = None
                    ) -> tuple[pd.Series, pd.DataFrame]:
    """Index_t = Σ_i w_i,t s_i,t² over the segments present on t, the weights (`resolve_weights`)
    renormalised over them each day, and the contributions w_i,t s_i,t² (0 for a segment absent
    that day; they sum to the index). NaN on days without any segment. No publication rule."""
    names = list(segments.columns)
    w_all = resolve_weights(names, weights)
    S = segments.to_numpy(dtype=float)
    present = ~np.isnan(S)
    w = np.array([w_all[n] for n in names]) if names else np.empty(0)
    wt = np.where(present, w[None, :], 0.0)
    total = wt.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        wt = np.where(total > 0, wt / total, 0.0)
    contrib = wt * np.nan_to_num(S) ** 2
    some = (present & (wt > 0)).any(axis=1)
    index = pd.Series(np.where(some, contrib.sum(axis=1), np.nan), index=segments.index, name="stress.index")
    contributions = pd.DataFrame(np.where(some[:, None], np.where(present, contrib, 0.0), np.nan),
                                 index=segments.index, columns=names)
    return index, contributions


def ewma_corr_mean(S: np.ndarray, lam: float) -> np.ndarray:
    """Mean off-diagonal EWMA correlation of S − 0.5 among the segments present each day (the
    `stress.corr` diagnostic): bias-corrected EWMA (pandas adjust=True) of the products over the
    days the segments exist."""
    T, K = S.shape
    if K < 2:
        return np.full(T, np.nan)
    St = S - 0.5
    present = ~np.isnan(S)

    def ewm(x: np.ndarray) -> np.ndarray:
        return pd.Series(x).ewm(alpha=1 - lam, adjust=True, ignore_na=True).mean().to_numpy()

    var = [ewm(St[:, i] ** 2) for i in range(K)]
    total = np.zeros(T)
    count = np.zeros(T)
    for i in range(K):
        for j in range(i + 1, K):
            cij = ewm(St[:, i] * St[:, j])
            with np.errstate(divide="ignore", invalid="ignore"):
                rho = np.clip(cij / np.sqrt(var[i] * var[j]), -1, 1)
            both = present[:, i] & present[:, j] & np.isfinite(rho)
            total += np.where(both, rho, 0.0)
            count += both
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, total / count, np.nan)


def monthly_beside(frame: pd.DataFrame, burn_in: int = MONTHLY_BURN_IN) -> pd.Series:
    """Score of a monthly measure family published beside the index: each measure is ranked over
    the days a new value entered the grid (one observation per published month, not one per
    business day it is carried), mean over measures, carried forward on the grid where its
    inputs are (NaN where the grid value is NaN)."""
    cols = {}
    for c in frame.columns:
        x = frame[c]
        entered = x.notna() & (x.ne(x.shift()) | x.shift().isna())
        z = recursive_ecdf(x[entered], burn_in).reindex(x.index).ffill()
        cols[c] = z.where(x.notna())
    return pd.DataFrame(cols, index=frame.index).mean(axis=1, skipna=True)


def established(ranked: np.ndarray, has_data: np.ndarray, before: bool) -> np.ndarray:
    """Per day: is the index established (published)? From the first day t0 on which at least one
    segment is ranked and every segment with raw data on t0 is ranked; `before` = already
    established before the first day. Causal: t0 depends on rows up to t0 only."""
    ok = ranked.any(axis=1) & ~(has_data & ~ranked).any(axis=1)
    ok[:1] |= before
    return np.maximum.accumulate(ok) if len(ok) else ok


# ---------------------------------------------------------------------------------------------
# the index
# ---------------------------------------------------------------------------------------------
def composite(measures: Mapping[str, pd.DataFrame], weights: Mapping[str, float] | None = None,
              lam: float = DEFAULT_LAMBDA, burn_in: int = BURN_IN, history: History | None = None) -> CompositeResult:
    """Measures (segment -> grid × measures, one row per business day of the block) to the full
    result for those days: transformed measures, segments, index (weighted mean of squared
    segment scores), contributions, coverage, the correlation diagnostic, the index's recursive
    percentile and the monthly measures beside the index. `history` = the grid days before the
    block (default none: the block is the whole grid); `result.history` extends it by the block."""
    history = history or History.empty()
    daily = {k: v for k, v in measures.items() if k not in BESIDE and v is not None and v.shape[1]}
    monthly = {k: v for k, v in measures.items() if k in BESIDE and v is not None and v.shape[1]}
    grid = next(iter(measures.values())).index if measures else pd.DatetimeIndex([], name="date")
    segs, transformed = segment_scores(daily, burn_in, history)
    # segments: those ranked on some day so far (in the history or the block)
    seen_before = [s for s, col in history.segments.items() if np.any(~np.isnan(col))]
    ranked_now = [s for s in segs.columns if segs[s].notna().any()]
    names_all = _ordered(seen_before + ranked_now)
    w_all = resolve_weights(names_all, weights)
    names = [n for n in names_all if w_all.get(n, 0.0) > 0]
    segs = segs.reindex(index=grid, columns=names)
    S = segs.to_numpy(dtype=float)
    T, K = S.shape
    present = ~np.isnan(S)
    # a segment with raw data blocks publication until it is ranked, unless its weight is 0
    w_any = resolve_weights(_ordered(names_all + list(daily)), weights)
    has_data = pd.DataFrame({k: v.notna().any(axis=1) for k, v in daily.items() if w_any.get(k, 0.0) > 0},
                            index=grid)
    cols = list(dict.fromkeys(names + list(has_data.columns)))
    data = has_data.reindex(columns=cols, fill_value=False).to_numpy(bool)
    ranked = segs.reindex(columns=cols).notna().to_numpy()
    live = established(ranked, data, bool(np.any(~np.isnan(history.index))))
    raw_index, contrib = mean_of_squares(segs, {n: w_all[n] for n in names})
    on = live & present.any(axis=1)
    index_values = np.where(on, raw_index.to_numpy(), np.nan)
    index = pd.Series(index_values, index=grid, name="stress.index")
    contributions = contrib.where(pd.Series(on, index=grid), axis=0)
    seen = np.array([np.any(~np.isnan(history.column(history.segments, n))) for n in names], dtype=bool)
    seen_t = np.maximum.accumulate(present | seen[None, :], axis=0) if T else present
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(on, present.sum(axis=1) / np.maximum(seen_t.sum(axis=1), 1), np.nan)
    # the diagnostic runs over the whole history so that a block's value equals the full grid's
    full_S = np.vstack([np.column_stack([history.column(history.segments, n) for n in names])
                        if K else np.empty((history.length, 0)), S]) if history.length else S
    corr = ewma_corr_mean(full_S, lam)[history.length:] if K else np.full(T, np.nan)
    percentile = rank_block(history.index, index_values, burn_in)
    beside = {}
    for k, frame in monthly.items():
        hist = pd.DataFrame({c: history.column(history.beside, f"{k}:{c}") for c in frame.columns})
        full = pd.concat([hist, frame.reset_index(drop=True)], ignore_index=True)
        beside[k] = pd.Series(monthly_beside(full).to_numpy()[history.length:], index=grid,
                              name=f"stress.beside.{k}")
    first = grid[int(np.argmax(on))] if on.any() else None
    result = CompositeResult(
        index=index, segments=segs, contributions=contributions,
        corr_mean=pd.Series(np.where(on, corr, np.nan), index=grid, name="corr_mean"),
        weights={n: w_all[n] for n in names}, transformed=transformed,
        percentile=pd.Series(percentile, index=grid, name="stress.index.pct"), published_from=first,
        coverage=pd.Series(coverage, index=grid, name="stress.index.coverage"), beside=beside)
    result.history = _extend(history, daily, monthly, segs, index_values, T)
    return result


def _extend(history: History, daily: Mapping[str, pd.DataFrame], monthly: Mapping[str, pd.DataFrame],
            segs: pd.DataFrame, index: np.ndarray, T: int) -> History:
    """The history through the end of the block."""
    def joined(group: dict[str, np.ndarray], columns: dict[str, pd.Series]) -> dict[str, np.ndarray]:
        out = {}
        for name in list(group) + [c for c in columns if c not in group]:
            new = columns[name].to_numpy(dtype=float) if name in columns else np.full(T, np.nan)
            out[name] = np.concatenate([history.column(group, name), new])
        return out

    return History(length=history.length + T,
                   measures=joined(history.measures, measure_columns(daily)),
                   beside=joined(history.beside, measure_columns(monthly)),
                   segments=joined(history.segments, {s: segs[s] for s in segs.columns}),
                   index=np.concatenate([history.index, index]))
