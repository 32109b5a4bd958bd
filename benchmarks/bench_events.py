"""Benchmark: align the whole shipped catalogue with 5,000 placebos each on 25 years of daily data.

Vectorised `study.run_study` (every per-day statistic computed once with cumulative sums, placebos
are array lookups) next to the one-at-a-time baseline `study.loop_study` (statement by statement,
each placebo's AR(1) fitted by least squares on its own window), in the same run on the same
synthetic index; prints both times, the ratio and whether the p-values agree.

    /work/venv/bin/python benchmarks/bench_events.py [--placebos 5000] [--loop-statements N]

`--loop-statements` times the loop on the first N aligned statements and scales its time to the
whole catalogue (the default, 0, loops over all of them).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from stresswatch.events import catalogue, study
from stresswatch.events.study import StudyConfig


def synthetic(years: int = 25, seed: int = 2023):
    rng = np.random.default_rng(seed)
    cal = pd.bdate_range("2001-01-01", periods=years * 261, name="date")
    n = len(cal)
    state = np.zeros(n, dtype=int)
    for t in range(1, n):
        stay = 0.995 if state[t - 1] == 0 else 0.98
        state[t] = state[t - 1] if rng.random() < stay else 1 - state[t - 1]
    level = np.zeros(n)
    sd = np.where(state == 1, 0.2, 0.05)
    for t in range(1, n):
        level[t] = 0.97 * level[t - 1] + 0.015 * state[t] + sd[t] * rng.normal()
    p = np.clip(np.where(state == 1, 0.85, 0.1) + rng.normal(0, 0.05, n), 0, 1)
    probs = pd.DataFrame({"p_stress_filtered": p, "p_stress_smoothed": p}, index=cal)
    fx = pd.Series(30 * np.exp(np.cumsum(rng.normal(0, 0.006, n))), index=cal)
    return pd.Series(level, index=cal), fx, probs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--placebos", type=int, default=5000)
    ap.add_argument("--loop-statements", type=int, default=0)
    args = ap.parse_args()
    index, fx, probs = synthetic()
    statements = catalogue.load_catalogue()
    cfg = StudyConfig(placebos=args.placebos)

    t = time.perf_counter()
    res = study.run_study(statements, index=index, fx=fx, probabilities=probs, config=cfg)
    vec = time.perf_counter() - t
    aligned = [i for i, p in enumerate(res.t0) if p >= 0 and np.isfinite(res.stat[p])]
    ids = list(res.statements["id"])
    chosen = aligned[: args.loop_statements] if args.loop_statements else aligned

    t = time.perf_counter()
    loop_p = study.loop_study(res.values, res.t0[chosen], [ids[i] for i in chosen], res.valid, res.bucket,
                              res.weekday, cfg)
    loop = time.perf_counter() - t
    loop_full = loop * len(aligned) / max(1, len(chosen))
    same = np.allclose(loop_p, res.statements["p_value"].to_numpy()[chosen])

    print(f"data: {len(index)} business days ({index.index[0].date()}..{index.index[-1].date()}), "
          f"{len(statements)} statements ({len(aligned)} aligned), {args.placebos} placebos each")
    scaled = "" if len(chosen) == len(aligned) else f", measured on {len(chosen)} and scaled"
    print(f"vectorised run_study (whole catalogue, CAR, k = 1/5/10, aggregates): {vec:8.3f} s")
    print(f"single-statement loop (placebo p-values only{scaled}): {loop_full:8.3f} s")
    print(f"ratio loop / vectorised: {loop_full / vec:8.1f}x   p-values identical: {same}")


if __name__ == "__main__":
    main()
