"""Stress episodes from a probability series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stresswatch.regimes.episodes import find_episodes


def test_find_episodes_merges_gaps_and_drops_short_runs():
    days = pd.bdate_range("2022-01-03", periods=30)
    p = np.zeros(30)
    p[2:6] = 0.9  # 4 periods
    p[8:10] = 0.8  # gap of 2 -> merged with the first
    p[15:17] = 0.95  # 2 periods, alone -> dropped with min_length 3
    p[20:26] = [0.6, 0.7, 0.99, 0.7, 0.6, 0.55]
    eps = find_episodes(pd.Series(p, index=days), threshold=0.5, min_length=3, merge_gap=2)
    assert [(e["start"], e["end"], e["length"]) for e in eps] == [
        (days[2].date(), days[9].date(), 8), (days[20].date(), days[25].date(), 6)]
    assert eps[1]["peak"] == days[22].date() and eps[1]["peak_p"] == pytest.approx(0.99)
    assert find_episodes(pd.Series(p, index=days), min_length=3, merge_gap=1)[0]["end"] == days[5].date()
