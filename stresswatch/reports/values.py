"""Small pure helpers the sections and the chart specs share: a finite float or None, ISO date
text, date offsets, the value in force on a day, and a series as chart points."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd


def value_on_or_before(series: pd.Series, day: dt.date) -> tuple[dt.date | None, float | None]:
    """The last observation dated on or before `day`."""
    if series.empty:
        return None, None
    cut = series.loc[: pd.Timestamp(day)]
    if cut.empty:
        return None, None
    return cut.index[-1].date(), float(cut.iloc[-1])


def num(value: Any) -> float | None:
    """A finite float or None."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def iso(day: dt.date | pd.Timestamp | str | None) -> str | None:
    """`YYYY-MM-DD` for a date, a timestamp or ISO text (None stays None)."""
    if day is None:
        return None
    if isinstance(day, str):
        return day[:10]
    return day.isoformat()[:10]


def points(series: pd.Series) -> tuple[list[str], list[float]]:
    """A series as (ISO dates, floats) for a chart spec."""
    s = series.dropna()
    days = np.datetime_as_string(pd.DatetimeIndex(s.index).to_numpy(dtype="datetime64[D]"), unit="D")
    return days.tolist(), s.to_numpy(dtype=float).tolist()


def years_before(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` years earlier (29 Feb -> 28 Feb)."""
    return (pd.Timestamp(day) - pd.DateOffset(years=years)).date()


def months_before(day: dt.date, months: int) -> dt.date:
    """The same calendar day `months` months earlier (clipped to the month's end)."""
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()
