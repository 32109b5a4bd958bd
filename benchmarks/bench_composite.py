"""The stress index on 25 years of daily data: the time of `composite()` next to baselines measured
in the same run.

  * the reference loops of METHODS.md §1.1: an O(n²) recursive ECDF per measure, then the index
    day by day (here: the mean of squared segment scores, the index since issue 12);
  * appending one day to the same 25 years (`composite(..., history=...)`, what the daily compute
    does) against computing the whole grid;
  * a pandas rolling op of similar size (rolling 20-day std of every measure), for scale.

Run:  python benchmarks/bench_composite.py [--years 25] [--measures 12]
Prints the timings, the ratios, and the largest differences between the results (the reference
and the appended day must equal the full computation).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from stresswatch.indicators.composite import composite, recursive_ecdf_naive


def reference_index(measures: dict[str, pd.DataFrame], burn_in: int) -> pd.Series:
    """METHODS.md-style loops: O(n²) ranks, then Σ w s² over the segments present, day by day."""
    segs = pd.DataFrame({name: frame.apply(lambda c: recursive_ecdf_naive(c, burn_in)).mean(axis=1)
                         for name, frame in measures.items()})
    S = segs.to_numpy(float)
    out = np.full(len(S), np.nan)
    for t in range(len(S)):
        present = ~np.isnan(S[t])
        if present.any():
            out[t] = float(np.mean(S[t][present] ** 2))
    return pd.Series(out, index=segs.index)


def make_measures(years: int, per_segment: int, seed: int = 0) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2000-01-03", periods=252 * years)
    common = np.cumsum(rng.normal(size=len(idx))) * 0.05
    out = {}
    for name in ("fx", "policy", "equity", "external"):
        cols = {f"m{j}": np.abs(common + rng.normal(size=len(idx))) for j in range(per_segment)}
        out[name] = pd.DataFrame(cols, index=idx)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, default=25)
    ap.add_argument("--measures", type=int, default=12, help="raw measures in total (4 segments)")
    ap.add_argument("--burn-in", type=int, default=500)
    args = ap.parse_args()
    measures = make_measures(args.years, max(1, args.measures // 4))
    n = len(next(iter(measures.values())))
    print(f"{n} business days ({args.years} years), {sum(f.shape[1] for f in measures.values())} measures, "
          f"4 segments, burn-in {args.burn_in}")

    t0 = time.perf_counter()
    ours = composite(measures, burn_in=args.burn_in)
    t_ours = time.perf_counter() - t0

    t0 = time.perf_counter()
    ref = reference_index(measures, args.burn_in)
    t_ref = time.perf_counter() - t0

    head = composite({k: v.iloc[:-1] for k, v in measures.items()}, burn_in=args.burn_in)
    t0 = time.perf_counter()
    day = composite({k: v.iloc[-1:] for k, v in measures.items()}, burn_in=args.burn_in, history=head.history)
    t_day = time.perf_counter() - t0

    t0 = time.perf_counter()
    for frame in measures.values():
        frame.rolling(20).std()
    t_roll = time.perf_counter() - t0

    on = ours.index.notna()
    diff = float((ours.index[on] - ref[on]).abs().max())
    diff_day = abs(float(day.index.iloc[-1] - ours.index.iloc[-1]))
    print(f"composite() on the whole grid           : {t_ours:8.3f} s")
    print(f"reference loops (O(n^2) ranks)          : {t_ref:8.3f} s   ratio reference/ours = {t_ref / t_ours:6.1f}x")
    print(f"one new day after the stored history    : {t_day:8.3f} s   ratio day/whole grid = {t_day / t_ours:6.3f}")
    print(f"pandas rolling(20).std of all measures  : {t_roll:8.3f} s   ratio ours/rolling   = {t_ours / t_roll:6.1f}x")
    print(f"max |index difference| reference vs ours: {diff:.1e}; the appended day vs the whole grid: {diff_day:.1e}")


if __name__ == "__main__":
    main()
