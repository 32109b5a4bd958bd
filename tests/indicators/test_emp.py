"""Exchange-market pressure: %Δe/σe + Δi/σi with trailing rolling σ."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stresswatch.indicators.emp import exchange_market_pressure


def test_emp_hand_computed():
    days = pd.bdate_range("2024-01-01", periods=12)
    e = pd.Series([100, 101, 100, 102, 101, 103, 102, 104, 103, 110, 111, 112], index=days, dtype=float)
    i = pd.Series([10, 10, 10, 10, 11, 11, 11, 11, 11, 13, 13, 13], index=days, dtype=float)
    out = exchange_market_pressure(e, i, horizon=1, sigma_window=5, sigma_min=5)
    de = 100 * np.log(e / e.shift(1))
    di = i.diff()
    t = days[9]
    expected = de[t] / de[days[5]:t].std() + di[t] / di[days[5]:t].std()
    assert out[t] == pytest.approx(expected)
    assert out.iloc[:5].isna().all()


def test_emp_without_policy_rate_or_rate_moves_is_the_fx_term():
    days = pd.bdate_range("2024-01-01", periods=8)
    e = pd.Series([100, 101, 100, 102, 101, 103, 102, 104], index=days, dtype=float)
    flat = pd.Series(10.0, index=days)
    a = exchange_market_pressure(e, None, horizon=1, sigma_window=5, sigma_min=5)
    b = exchange_market_pressure(e, flat, horizon=1, sigma_window=5, sigma_min=5)
    pd.testing.assert_series_equal(a, b)
    assert a.notna().sum() == 3
