"""Stress episodes: runs of P(stress) above a threshold, merged across short gaps (pure)."""

from __future__ import annotations

from typing import Any

import pandas as pd


def find_episodes(p: pd.Series, threshold: float = 0.5, min_length: int = 3, merge_gap: int = 5) -> list[dict[str, Any]]:
    """Stress episodes in a probability series: runs of p > threshold; runs separated by at most
    `merge_gap` periods below it are merged; episodes shorter than `min_length` periods are dropped.
    Each episode: start, end, peak (date of max p), peak_p, length (periods in the episode)."""
    p = p.dropna()
    if p.empty:
        return []
    above = p.to_numpy() > threshold
    runs = []
    i, n = 0, len(above)
    while i < n:
        if above[i]:
            j = i
            while j + 1 < n and above[j + 1]:
                j += 1
            runs.append([i, j])
            i = j + 1
        else:
            i += 1
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] - 1 <= merge_gap:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    out = []
    for a, b in merged:
        if b - a + 1 < min_length:
            continue
        seg = p.iloc[a: b + 1]
        out.append({"start": seg.index[0].date(), "end": seg.index[-1].date(), "peak": seg.idxmax().date(),
                    "peak_p": float(seg.max()), "mean_p": float(seg.mean()), "length": int(b - a + 1)})
    return out


