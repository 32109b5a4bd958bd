"""Composite stress index on 25 years of daily data: time of our pipeline (recursive ECDF with a
Fenwick tree + vectorised EWMA quadratic form) next to baselines measured in the same run:

  * the METHODS.md reference code: O(n²) recursive ECDF loop + per-day EWMA loop (`ciss` below);
  * a pandas rolling op of similar size (rolling 20-day std of every measure), for scale.

Run:  /work/venv/bin/python benchmarks/bench_composite.py [--years 25] [--measures 12]
Prints both timings, the ratio, and the largest difference between the two indices (both use
the same tie rule, so they agree to rounding once the EWMA start-up has faded).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from stresswatch.indicators.composite import composite


def ecdf_recursive_reference(x: pd.Series, min_obs: int) -> pd.Series:
    """METHODS.md §1.1 loop (average rank for ties, like ours), O(n²)."""
    v = x.to_numpy(float)
    out = np.full(len(v), np.nan)
    for t in range(len(v)):
        w = v[: t + 1][~np.isnan(v[: t + 1])]
        if len(w) >= min_obs and not np.isnan(v[t]):
            out[t] = ((w < v[t]).sum() + ((w == v[t]).sum() + 1) / 2) / len(w)
    return pd.Series(out, x.index)


def ciss_reference(sub: pd.DataFrame, lam: float = 0.93) -> pd.Series:
    """METHODS.md §1.1 per-day loop (plain EWMA started from the first outer product)."""
    S = sub.to_numpy(float)
    St = S - 0.5
    cov = None
    out = np.full(len(S), np.nan)
    w = np.full(S.shape[1], 1.0 / S.shape[1])
    for t in range(len(S)):
        if np.isnan(S[t]).any():
            continue
        x = np.outer(St[t], St[t])
        cov = x if cov is None else lam * cov + (1 - lam) * x
        d = np.sqrt(np.diag(cov))
        C = cov / np.outer(d, d)
        ws = w * S[t]
        out[t] = ws @ C @ ws
    return pd.Series(out, sub.index)


def make_measures(years: int, per_segment: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2000-01-03", periods=252 * years)
    common = np.cumsum(rng.normal(size=len(idx))) * 0.05
    out = {}
    for k, name in enumerate(("fx", "policy", "equity", "external")):
        cols = {f"m{j}": np.abs(common + rng.normal(size=len(idx))) for j in range(per_segment)}
        out[name] = pd.DataFrame(cols, index=idx)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=25)
    ap.add_argument("--measures", type=int, default=12, help="raw measures in total (4 segments)")
    ap.add_argument("--burn-in", type=int, default=250)
    args = ap.parse_args()
    measures = make_measures(args.years, max(1, args.measures // 4))
    n = len(next(iter(measures.values())))
    print(f"{n} business days ({args.years} years), {sum(f.shape[1] for f in measures.values())} measures, "
          f"4 segments")

    t0 = time.perf_counter()
    ours = composite(measures, burn_in=args.burn_in)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    segs = pd.DataFrame({name: frame.apply(lambda c: ecdf_recursive_reference(c, args.burn_in)).mean(axis=1)
                         for name, frame in measures.items()})
    ref = ciss_reference(segs.dropna())
    t_ref = time.perf_counter() - t0

    t0 = time.perf_counter()
    for frame in measures.values():
        frame.rolling(20).std()
    t_roll = time.perf_counter() - t0

    late = ref.index[ref.index >= ref.index[0] + pd.Timedelta(days=365)]
    diff = (ours.index.reindex(late) - ref.reindex(late)).abs().max()
    print(f"ours (Fenwick ECDF + vectorised EWMA) : {t_ours:8.3f} s")
    print(f"METHODS.md O(n^2) reference loops    : {t_ref:8.3f} s   ratio reference/ours = {t_ref / t_ours:6.1f}x")
    print(f"pandas rolling(20).std of all measures: {t_roll:8.3f} s   ratio ours/rolling   = {t_ours / t_roll:6.1f}x")
    print(f"max |index difference| after the first year: {diff:.2e}")


if __name__ == "__main__":
    main()
