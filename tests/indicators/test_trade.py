"""Trade indicators by calendar month."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from stresswatch.indicators import trade


def months(values, start="2022-01-01"):
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="MS"), dtype=float)


def test_growth_is_by_calendar_month_and_gaps_stay_gaps():
    x = months(list(range(100, 124)))
    x = x.drop(pd.Timestamp("2022-03-01"))
    g = trade.log_growth_12m(x)
    assert g["2023-01-01"] == pytest.approx(100 * math.log(112 / 100))
    assert "2023-03-01" in g.index and pd.isna(g["2023-03-01"])  # base month missing
    assert g["2023-04-01"] == pytest.approx(100 * math.log(115 / 103))


def test_three_month_average_and_balance():
    x = months([3.0, 6.0, 9.0, 12.0])
    m = months([1.0, 1.0, 2.0, 2.0])
    a = trade.average_3m(x)
    assert pd.isna(a.iloc[1]) and a.iloc[2] == pytest.approx(6.0) and a.iloc[3] == pytest.approx(9.0)
    b = trade.balance(x, m)
    assert list(b) == [2.0, 5.0, 7.0, 10.0]
