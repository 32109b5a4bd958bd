"""Brent / IMOEX indicators."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stresswatch.indicators import markets


def test_price_cmax_and_returns():
    days = pd.bdate_range("2024-01-01", periods=80)
    p = pd.Series(np.r_[np.linspace(50, 100, 70), np.full(10, 60.0)], index=days)
    c = markets.price_cmax(p)
    assert c.iloc[-1] == pytest.approx(40.0)
    r = markets.price_log_return(p)
    assert r.iloc[70] == pytest.approx(100 * math.log(60 / 100))


def test_long_exchange_closure_becomes_missing_not_calm():
    p = pd.Series([100.0, 67.0, 70.0], index=pd.DatetimeIndex(["2022-02-23", "2022-02-24", "2022-04-29"]))
    r = markets.price_log_return(p)
    assert r["2022-02-24"] == pytest.approx(100 * math.log(0.67))
    gap = r["2022-02-25":"2022-04-28"]
    assert (gap.iloc[:25] == 0).all() and gap.iloc[26:].isna().all()
