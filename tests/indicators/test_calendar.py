"""Business-day grid and the when-known alignment."""

from __future__ import annotations

import pandas as pd

from stresswatch.indicators.calendar import effective_dates, place_on_grid, to_business_days


def test_to_business_days_fills_forward_with_limit():
    s = pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["2024-01-05", "2024-01-06"]))  # Fri, Sat
    b = to_business_days(s, end="2024-01-12", limit=3)
    assert b["2024-01-05"] == 1.0
    assert b["2024-01-08"] == 2.0  # Monday takes Saturday's fixing
    assert b["2024-01-11"] == 2.0  # 3 business days after the Monday
    assert pd.isna(b["2024-01-12"])


def test_monthly_value_enters_on_known_at_not_reference_date():
    values = pd.Series([10.0, 20.0], index=pd.DatetimeIndex(["2024-01-01", "2024-02-01"]))
    known = pd.Series(pd.DatetimeIndex(["2024-02-20", "2024-03-17"]), index=values.index)  # 17 Mar = Sunday
    eff = effective_dates(known, lookback=1)
    grid = pd.bdate_range("2024-01-01", "2024-03-29")
    g = place_on_grid(values, eff, grid)
    assert g[:"2024-02-19"].isna().all()
    assert (g["2024-02-20":"2024-03-15"] == 10.0).all()
    assert (g["2024-03-18":] == 20.0).all()  # Sunday known_at counts from Monday


def test_effective_dates_take_latest_known_at_in_the_window():
    idx = pd.DatetimeIndex(["2024-01-01", "2024-02-01", "2024-03-01"])
    known = pd.Series(pd.DatetimeIndex(["2024-04-01", "2024-02-10", "2024-03-05"]), index=idx)
    eff = effective_dates(known, lookback=2)
    assert list(eff) == [pd.Timestamp("2024-04-01"), pd.Timestamp("2024-04-01"), pd.Timestamp("2024-03-05")]


def test_late_revision_of_an_old_date_does_not_override_newer_values():
    values = pd.Series([1.0, 2.0, 3.0], index=pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04"]))
    eff = pd.Series(pd.DatetimeIndex(["2024-01-10", "2024-01-03", "2024-01-04"]), index=values.index)
    g = place_on_grid(values, eff, pd.bdate_range("2024-01-02", "2024-01-12"))
    assert pd.isna(g["2024-01-02"])
    assert g["2024-01-03"] == 2.0 and g["2024-01-12"] == 3.0


def test_end_extends_the_grid_by_the_interior_rule_and_never_cuts_rows():
    s = pd.Series([1.0, 2.0, 3.0], index=pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-10"]))
    b = to_business_days(s, end="2024-01-17", limit=3)
    assert list(b["2024-01-11":"2024-01-15"]) == [3.0, 3.0, 3.0] and pd.isna(b["2024-01-16"])
    assert b.index[-1] == pd.Timestamp("2024-01-17")
    assert list(b["2024-01-04":"2024-01-09"].isna()) == [False, False, False, True]  # same limit inside
    short = to_business_days(s, end="2024-01-05")
    assert short.index[-1] == pd.Timestamp("2024-01-10") and short["2024-01-10"] == 3.0
