"""The composite stress index (CISS-style, Holló–Kremer–Lo Duca 2012), computed without look-ahead.

Steps (all causal: the value at t uses observations up to t only):
1. Raw measures, oriented so that higher = more stress, on the business-day grid (`compute.py`
   places every input at the day it became known).
2. Each measure is replaced by its *recursive* empirical CDF: z_t = (average rank of x_t among the
   non-missing x_1..x_t) / n_t, NaN until n_t reaches the burn-in. For distinct values this is the
   CISS order statistic r/n; ties get their average rank (a measure that sits at its minimum for
   long spells, such as a rate that has not moved, then ranks near the middle, not at the top).
   `recursive_ecdf` uses a Fenwick tree over value ranks: O(n log n).
3. Segment s_i,t = mean of its transformed measures present at t (∈ [0, 1]).
4. EWMA covariances of s̃ = s − 0.5 (0.5 = median of U(0,1), not a running mean), λ = 0.93:
   σ_ij,t = λ σ_ij,t−1 + (1 − λ) s̃_i,t s̃_j,t over the days both segments exist, bias-corrected
   at the start (pandas `ewm(adjust=True)`: weights λ^k normalised by their sum, so the first
   values are a plain mean instead of a single outer product); ρ_ij,t = σ_ij,t / √(σ_ii,t σ_jj,t).
5. Index_t = (w∘s_t)ᵀ C_t (w∘s_t), no square root, ∈ [0, 1]. Weights are renormalised over the
   segments present at t (a segment is present once it has `warmup` observations); contribution
   of segment i = (w∘s)_i · (C (w∘s))_i, which sum to the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

SEGMENTS = ("fx", "policy", "equity", "external", "trade")

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
FX_CODES = ("USD", "EUR", "CNY")
DEFAULT_WARMUP = 20


def recursive_ecdf(x: pd.Series, burn_in: int = 250) -> pd.Series:
    """z_t = (average rank of x_t among the non-missing x_1..x_t) / n_t; NaN before n_t = burn_in
    and where x_t is missing. Fenwick tree over the ranks of the distinct values: O(n log n)."""
    v = x.to_numpy(dtype=float)
    out = np.full(len(v), np.nan)
    mask = ~np.isnan(v)
    vals = v[mask]
    if len(vals) == 0:
        return pd.Series(out, index=x.index, name=x.name)
    uniq = np.unique(vals)
    ranks = (np.searchsorted(uniq, vals) + 1).tolist()  # 1-based ranks of distinct values
    m = len(uniq)
    tree = [0] * (m + 1)
    equal = [0] * (m + 1)
    res = [np.nan] * len(vals)
    start = max(1, int(burn_in))
    for n, r in enumerate(ranks, start=1):
        i = r
        while i <= m:
            tree[i] += 1
            i += i & -i
        equal[r] += 1
        if n >= start:
            less = 0
            i = r - 1
            while i > 0:
                less += tree[i]
                i -= i & -i
            res[n - 1] = (less + (equal[r] + 1) / 2.0) / n
    out[mask] = res
    return pd.Series(out, index=x.index, name=x.name)


def recursive_ecdf_naive(x: pd.Series, burn_in: int = 250) -> pd.Series:
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


def segment_scores(measures: Mapping[str, pd.DataFrame], burn_in: int = 250) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Transform every measure by its recursive ECDF and average per segment.

    `measures`: segment name -> DataFrame (grid × measures, higher = more stress). Returns
    (segments: grid × segment, transformed: grid × "segment:measure")."""
    segs = {}
    transformed = {}
    for name, frame in measures.items():
        if frame is None or frame.shape[1] == 0:
            continue
        z = frame.apply(lambda col: recursive_ecdf(col, burn_in))
        for col in z.columns:
            transformed[f"{name}:{col}"] = z[col]
        segs[name] = z.mean(axis=1, skipna=True)
    seg_df = pd.DataFrame(segs)
    seg_df = seg_df[[s for s in SEGMENTS if s in seg_df.columns] + [s for s in seg_df.columns if s not in SEGMENTS]]
    return seg_df, pd.DataFrame(transformed)


@dataclass
class CompositeResult:
    index: pd.Series
    segments: pd.DataFrame
    contributions: pd.DataFrame
    corr_mean: pd.Series
    weights: dict[str, float]
    transformed: pd.DataFrame = field(default_factory=pd.DataFrame)
    percentile: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))


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


def ciss(segments: pd.DataFrame, weights: Mapping[str, float] | None = None, lam: float = 0.93,
         warmup: int = DEFAULT_WARMUP) -> CompositeResult:
    """Index_t = (w∘s_t)ᵀ C_t (w∘s_t) with EWMA correlations of s − 0.5 (see the module docstring).

    `segments`: grid × segment values in [0, 1] (NaN = missing). Weights are renormalised each day
    over the segments present (value present and at least `warmup` observations so far)."""
    names = list(segments.columns)
    w_all = resolve_weights(names, weights)
    names = [n for n in names if w_all.get(n, 0.0) > 0]
    S = segments[names].to_numpy(dtype=float)
    T, K = S.shape
    index = pd.Series(np.nan, index=segments.index, name="stress.index")
    if K == 0 or T == 0:
        empty = pd.DataFrame(index=segments.index)
        return CompositeResult(index, segments, empty, index.rename("corr_mean"), {})
    St = S - 0.5
    alpha = 1.0 - lam
    cov = np.empty((T, K, K))
    for i in range(K):
        for j in range(i, K):
            prod = pd.Series(St[:, i] * St[:, j])
            ew = prod.ewm(alpha=alpha, adjust=True, ignore_na=True).mean().to_numpy()
            cov[:, i, j] = ew
            cov[:, j, i] = ew
    counts = np.cumsum(~np.isnan(S), axis=0)
    active = (~np.isnan(S)) & (counts >= warmup)
    diag = np.sqrt(np.clip(np.einsum("tii->ti", cov), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        C = cov / (diag[:, :, None] * diag[:, None, :])
    C = np.clip(np.nan_to_num(C, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0)
    eye = np.broadcast_to(np.eye(K, dtype=bool), C.shape)
    C = np.where(eye, 1.0, C)
    w = np.array([w_all[n] for n in names])
    wt = np.where(active, w[None, :], 0.0)
    total = wt.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        wt = np.where(total > 0, wt / total, 0.0)
    ws = wt * np.nan_to_num(S, nan=0.0)
    cws = np.einsum("tij,tj->ti", C, ws)
    contrib = ws * cws
    value = contrib.sum(axis=1)
    any_active = active.any(axis=1)
    index[:] = np.where(any_active, value, np.nan)
    contributions = pd.DataFrame(np.where(active, contrib, np.where(any_active[:, None], 0.0, np.nan)),
                                 index=segments.index, columns=names)
    # mean off-diagonal correlation among the active segments (the "systemic" part)
    pair = active[:, :, None] & active[:, None, :] & ~eye
    npairs = pair.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr_mean = np.where(npairs > 0, (C * pair).sum(axis=(1, 2)) / npairs, np.nan)
    return CompositeResult(index=index, segments=segments[names], contributions=contributions,
                           corr_mean=pd.Series(corr_mean, index=segments.index, name="corr_mean"),
                           weights={n: w_all[n] for n in names})


def composite(measures: Mapping[str, pd.DataFrame], weights: Mapping[str, float] | None = None,
              lam: float = 0.93, burn_in: int = 250, warmup: int = DEFAULT_WARMUP) -> CompositeResult:
    """Measures (segment -> grid × measures) to the full result: transformed measures, segments,
    index, contributions, mean correlation and the index's own recursive percentile."""
    segs, transformed = segment_scores(measures, burn_in)
    segs = segs.dropna(how="all", axis=1)
    result = ciss(segs, weights, lam, warmup)
    result.transformed = transformed
    result.percentile = recursive_ecdf(result.index, burn_in).rename("stress.index.pct")
    return result
