"""Calendars and point-in-time alignment shared by the indicator families.

Business-day grid: Monday..Friday. Bank of Russia rates are dated by the day they are *in force*;
a rate set on Friday is dated Saturday and stays in force on Sunday and Monday, so CBR series have
no rows for Sundays, Mondays and days after holidays. `to_business_days` turns such a series into
"value in force on each business day": the last row dated on or before that day (a Saturday row
therefore becomes Monday's value). Days with no new fixing repeat the previous value (zero log
return), up to `limit` business days.

The grid of a computation as of D runs to `end` = D minus the input's publication lag (the last
day whose row must have been published by D), not only to the input's last row: a source that has
not published for a few days (an exchange closure) is carried forward on the days up to `end` by
the same rule as a gap inside its history, so the value computed for a day does not depend on
whether the gap had ended when it was computed (truncation invariance up to the real-time edge).

When a value became known: `effective_dates` gives, for each reference date, the first day on
which a value computed from a `lookback`-row window was computable with data known at the time:
max(reference date, latest known_at among the rows in the window). `place_on_grid` puts values on
a business-day grid at those days, so a monthly value enters the daily index on its known_at date,
never on its reference date alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

BDAYS_PER_YEAR = 252
#: business days a daily input (a Bank of Russia fixing) is carried past its last row: longer gaps
#: are missing, not fake calm (the longest gap of the USD, CNY and key-rate histories is 9)
DAILY_STALE_LIMIT = 10


def business_grid(start: pd.Timestamp | str, end: pd.Timestamp | str) -> pd.DatetimeIndex:
    """Monday..Friday dates from start to end inclusive."""
    first = np.datetime64(pd.Timestamp(start).date(), "D")
    last = np.datetime64(pd.Timestamp(end).date(), "D")
    if last < first:
        return pd.DatetimeIndex([], name="date", dtype="datetime64[ns]")
    days = np.arange(first, last + 1, dtype="datetime64[D]")
    return pd.DatetimeIndex(days[np.is_busday(days)].astype("datetime64[ns]"), name="date")


def to_business_days(s: pd.Series, end: pd.Timestamp | str | None = None, limit: int | None = None) -> pd.Series:
    """Value in force on each business day (last observation dated on or before it).

    The grid runs from the first business day on or after the first observation to the later of
    `end` and the last observation (rolled forward to a business day): `end` extends the grid
    past the last row, it never cuts rows off. `limit`: at most that many business days are filled
    past a real row, inside the history and after its last row alike (None = no limit)."""
    raw = s.to_numpy(dtype=float)
    if np.isnan(raw).any():
        s = s[~np.isnan(raw)]
    if not s.index.is_monotonic_increasing:
        s = s.sort_index()
    if s.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], name="date"), name=s.name)
    dates = s.index.to_numpy().astype("datetime64[D]")
    last = max(np.datetime64(pd.Timestamp(end).date(), "D"), dates[-1]) if end is not None else dates[-1]
    days = np.arange(dates[0], np.busday_offset(last, 0, roll="forward") + 1, dtype="datetime64[D]")
    days = days[np.is_busday(days)]
    if len(days) == 0:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], name="date"), name=s.name)
    # position of the last observation dated <= each grid day
    pos = np.searchsorted(dates, days, side="right") - 1
    at = np.clip(pos, 0, None)
    values = np.where(pos >= 0, s.to_numpy(dtype=float)[at], np.nan)
    if limit is not None:
        # business days elapsed since the observation in force
        age = np.busday_count(dates[at], days)
        values[(age > limit) | (pos < 0)] = np.nan
    return pd.Series(values, index=pd.DatetimeIndex(days.astype("datetime64[ns]"), name="date"), name=s.name)


def effective_dates(known_at: pd.Series, lookback: int = 1) -> pd.Series:
    """max(reference date, latest known_at within the last `lookback` rows), per reference date.

    `known_at` is indexed by reference date (as stored). A missing known_at counts as the date."""
    # whole days as small integers: exact through the rolling max (nanoseconds would not be in floats)
    ref = known_at.index.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("int64")
    k = known_at.to_numpy(dtype="datetime64[ns]")
    k = np.where(np.isnat(k), ref, k.astype("datetime64[D]").astype("int64"))
    rolled = pd.Series(k, dtype=float).rolling(max(1, int(lookback)), min_periods=1).max().to_numpy()
    eff = np.maximum(rolled.astype("int64"), ref).astype("datetime64[D]").astype("datetime64[ns]")
    return pd.Series(eff, index=known_at.index, name="effective")


def place_on_grid(values: pd.Series, effective: pd.Series, grid: pd.DatetimeIndex,
                  limit: int | None = None) -> pd.Series:
    """On each grid day, the value of the latest reference date whose effective day is <= that day.

    Effective days falling on a weekend count from the next business day. A value is carried
    forward at most `limit` business days after it became effective (None = no limit)."""
    v = values.to_numpy(dtype=float)
    present = ~np.isnan(v)
    if not present.any() or len(grid) == 0:
        return pd.Series(np.nan, index=grid, name=values.name)
    ref = values.index.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")[present]
    eff = effective.reindex(values.index).to_numpy(dtype="datetime64[ns]")[present].astype("datetime64[D]")
    eff = np.where(np.isnat(eff), ref, eff)
    eff = np.busday_offset(eff, 0, roll="forward")  # weekend -> next Monday; weekdays unchanged
    v = v[present]
    order = np.lexsort((ref, eff))
    ref, eff, v = ref[order].astype("int64"), eff[order], v[order]
    # drop rows superseded by a later reference date that became known no later
    before = np.maximum.accumulate(np.r_[np.iinfo(np.int64).min, ref[:-1]])
    keep = ref >= before
    eff, v = eff[keep], v[keep]
    last = np.r_[eff[1:] != eff[:-1], True]  # per effective day, the latest reference date
    eff, v = eff[last], v[last]
    days = grid.to_numpy().astype("datetime64[D]")
    pos = np.searchsorted(eff, days, side="right") - 1
    at = np.clip(pos, 0, None)
    out = np.where(pos >= 0, v[at], np.nan)
    if limit is not None:
        age = np.busday_count(np.where(pos >= 0, eff[at], days), days)
        out = np.where(age > limit, np.nan, out)
    return pd.Series(out, index=grid, name=values.name)
