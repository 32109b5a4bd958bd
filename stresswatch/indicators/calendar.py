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
    return pd.bdate_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), name="date")


def to_business_days(s: pd.Series, end: pd.Timestamp | str | None = None, limit: int | None = None) -> pd.Series:
    """Value in force on each business day (last observation dated on or before it).

    The grid runs from the first business day on or after the first observation to the later of
    `end` and the last observation (rolled forward to a business day): `end` extends the grid
    past the last row, it never cuts rows off. `limit`: at most that many business days are filled
    past a real row, inside the history and after its last row alike (None = no limit)."""
    s = s.dropna().sort_index()
    if s.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], name="date"), name=s.name)
    last = max(pd.Timestamp(end), s.index[-1]) if end is not None else s.index[-1]
    grid = business_grid(s.index[0], max(last, s.index[0]) + pd.offsets.BDay(0))
    if len(grid) == 0:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], name="date"), name=s.name)
    # position of the last observation dated <= each grid day
    pos = s.index.searchsorted(grid, side="right") - 1
    values = np.where(pos >= 0, s.to_numpy(dtype=float)[np.clip(pos, 0, None)], np.nan)
    out = pd.Series(values, index=grid, name=s.name)
    if limit is not None:
        obs_day = pd.Series(np.where(pos >= 0, s.index.to_numpy()[np.clip(pos, 0, None)], np.datetime64("NaT")),
                            index=grid)
        # business days elapsed since the observation in force
        age = np.busday_count(obs_day.to_numpy().astype("datetime64[D]"), grid.to_numpy().astype("datetime64[D]"))
        out[age > limit] = np.nan
    return out


def effective_dates(known_at: pd.Series, lookback: int = 1) -> pd.Series:
    """max(reference date, latest known_at within the last `lookback` rows), per reference date.

    `known_at` is indexed by reference date (as stored). A missing known_at counts as the date."""
    ref = known_at.index.to_numpy(dtype="datetime64[ns]")
    k = known_at.to_numpy(dtype="datetime64[ns]")
    k = np.where(np.isnat(k), ref, k).astype("int64")
    rolled = pd.Series(k).rolling(max(1, int(lookback)), min_periods=1).max().to_numpy().astype("int64")
    eff = np.maximum(rolled, ref.astype("int64"))
    return pd.Series(pd.to_datetime(eff), index=known_at.index, name="effective")


def place_on_grid(values: pd.Series, effective: pd.Series, grid: pd.DatetimeIndex,
                  limit: int | None = None) -> pd.Series:
    """On each grid day, the value of the latest reference date whose effective day is <= that day.

    Effective days falling on a weekend count from the next business day. A value is carried
    forward at most `limit` business days after it became effective (None = no limit)."""
    df = pd.DataFrame({"v": values, "eff": effective.reindex(values.index)}).dropna(subset=["v"])
    if df.empty or len(grid) == 0:
        return pd.Series(np.nan, index=grid, name=values.name)
    df["eff"] = df["eff"].fillna(pd.Series(df.index, index=df.index))
    eff_day = pd.DatetimeIndex(df["eff"]).normalize()
    eff_bday = eff_day + pd.offsets.BDay(0)  # weekend -> next Monday; weekdays unchanged
    df = df.assign(eff=eff_bday.to_numpy(), ref=df.index.to_numpy()).sort_values(["eff", "ref"], kind="stable")
    # drop rows superseded by a later reference date that became known no later
    best = -np.inf
    keep = np.zeros(len(df), dtype=bool)
    refs = df["ref"].to_numpy().astype("int64")
    for i, r in enumerate(refs):
        if r >= best:
            keep[i] = True
            best = r
    df = df[keep]
    df = df.groupby("eff", sort=True).last()
    pos = df.index.searchsorted(grid, side="right") - 1
    vals = df["v"].to_numpy(dtype=float)
    out = np.where(pos >= 0, vals[np.clip(pos, 0, None)], np.nan)
    if limit is not None:
        eff_at = np.where(pos >= 0, df.index.to_numpy()[np.clip(pos, 0, None)], grid.to_numpy())
        age = np.busday_count(eff_at.astype("datetime64[D]"), grid.to_numpy().astype("datetime64[D]"))
        out = np.where(age > limit, np.nan, out)
    return pd.Series(out, index=grid, name=values.name)
