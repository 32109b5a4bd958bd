"""FX indicators on hand-computable Bank of Russia-style series (Saturday fixings, no Sun/Mon rows)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from stresswatch.indicators import fx


def cbr(values: dict[str, float]) -> pd.Series:
    return pd.Series(list(values.values()), index=pd.DatetimeIndex(list(values)), name="cbr.fx.USD")


def test_depreciation_conventions_70_34_to_101_04():
    # 31 Dec 2022 (Saturday fixing) -> 15 Aug 2023 (Tuesday)
    rate = cbr({"2022-12-30": 70.3375, "2022-12-31": 70.34, "2023-08-15": 101.04})
    up = fx.depreciation_rub_per_unit(rate, "ytd")
    down = fx.ruble_value_change(rate, "ytd")
    day = pd.Timestamp("2023-08-15")
    assert up[day] == pytest.approx(100 * (101.04 / 70.34 - 1))
    assert round(up[day], 1) == 43.6
    assert down[day] == pytest.approx(100 * (70.34 / 101.04 - 1))
    assert round(down[day], 1) == -30.4


def test_saturday_fixing_is_mondays_rate_and_holidays_repeat():
    # Fri 2023-08-11 row, Sat 2023-08-12 row (set Friday), nothing Sun/Mon, Tue 2023-08-15
    rate = cbr({"2023-08-10": 97.0, "2023-08-11": 97.5, "2023-08-12": 98.0, "2023-08-15": 101.0})
    r = fx.log_return(rate)
    assert list(r.index.strftime("%a")) == ["Thu", "Fri", "Mon", "Tue"]
    assert r["2023-08-14"] == pytest.approx(100 * math.log(98.0 / 97.5))  # Monday = Saturday's fixing
    assert r["2023-08-15"] == pytest.approx(100 * math.log(101.0 / 98.0))
    one_day = fx.depreciation_rub_per_unit(rate, "1d")
    assert one_day["2023-08-15"] == pytest.approx(100 * (101.0 / 98.0 - 1))


def test_month_and_year_bases_use_the_rate_in_force_on_that_calendar_day():
    rate = cbr({"2023-06-30": 85.0, "2023-07-14": 90.0, "2023-07-15": 91.0, "2023-08-15": 100.0,
                "2022-08-13": 60.0, "2022-08-16": 61.0})
    m = fx.depreciation_rub_per_unit(rate, "1m")
    # 15 Jul 2023 is a Saturday fixing, the rate in force on that day
    assert m["2023-08-15"] == pytest.approx(100 * (100.0 / 91.0 - 1))
    y = fx.depreciation_rub_per_unit(rate, "12m")
    # 15 Aug 2022: the last fixing dated on or before it is the Saturday 13 Aug one
    assert y["2023-08-15"] == pytest.approx(100 * (100.0 / 60.0 - 1))


def test_realised_volatility_matches_hand_formula():
    days = pd.bdate_range("2024-01-01", periods=25)
    values = 90 * np.exp(np.cumsum(np.r_[0, np.tile([0.01, -0.005, 0.002], 8)]))
    rate = pd.Series(values, index=days)
    rv = fx.realised_volatility(rate, 20)
    r = 100 * np.diff(np.log(values))
    expected = np.std(r[-20:], ddof=1) * math.sqrt(252)
    assert rv.iloc[-1] == pytest.approx(expected)
    assert rv.iloc[:20].isna().all() and rv.iloc[20:].notna().all()


def test_cmax_is_loss_of_ruble_value_from_its_window_high():
    days = pd.bdate_range("2024-01-01", periods=100)
    values = np.r_[np.full(70, 80.0), np.full(30, 100.0)]
    rate = pd.Series(values, index=days)
    c = fx.cmax_ruble_value(rate, window=504)
    assert c.iloc[62] == pytest.approx(0.0)        # first value once 63 days exist
    assert c.iloc[-1] == pytest.approx(100 * (1 - 80 / 100))  # ruble worth 20 % less than its best
    assert c.iloc[:62].isna().all()
    short = fx.cmax_ruble_value(rate, window=20)
    assert short.iloc[-1] == pytest.approx(0.0)  # the 80s left the 20-day window


def test_unknown_horizon_is_an_error():
    with pytest.raises(ValueError, match="horizon"):
        fx.depreciation_rub_per_unit(cbr({"2024-01-09": 90.0}), "2w")
