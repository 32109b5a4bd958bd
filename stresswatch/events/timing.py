"""Event timing: which row of a series is the first to carry a statement (its event day t0).

All times are converted to Moscow time (Europe/Moscow; UTC+3 since 26 Oct 2014). Call X the
statement's Moscow calendar day (its own date when the time is not known).

Bank of Russia official rates (`cbr.fx.*`): the rate dated D is fixed on the previous business day
at about 15:30 Moscow time, so CBR series have no rows for Sundays, Mondays or days after holidays,
and have Saturday-dated rows (Friday's fixing). A statement made during Moscow day X first shows in
the fixing made on X, which is dated the next business day after X - i.e. the first row of the
series dated strictly after X. If the time is known and is at or after the 15:30 fixing, and a
fixing was made on X (the series has a row dated X + 1 day), the statement misses it and first
shows one row later.

Stress index (`stress.index`, daily, point-in-time): the value dated D is what is known at the end
of Moscow day D (market closes of D, the CBR fixing dated D, the key rate in force on D). A
statement during Moscow day X first shows in the index dated X if X is an index date, else the
first index date after X; with a known time after the 19:00 close it moves to the next index date.

A statement whose first row would come more than two weeks later (before the series starts, or
in a gap of the data) has no t0.

Regime probabilities are read "as of" t0: the last row dated on or before t0 (no look-ahead when
the model runs on a coarser, e.g. weekly, grid).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

MOSCOW = ZoneInfo("Europe/Moscow")
FIXING_TIME = dt.time(15, 30)
CLOSE_TIME = dt.time(19, 0)
#: a t0 more than this many calendar days after the statement means the data do not cover it
#: (statement before the series starts, or a gap); the longest CBR holiday gap is about 11 days
MAX_LAG_DAYS = 14


def moscow_day(date: dt.date, time: dt.time | None = None, tz: str = "Europe/Moscow") -> tuple[dt.date, dt.time | None]:
    """(Moscow calendar day, Moscow clock time or None) of a statement dated `date` [`time`] in `tz`."""
    if time is None:
        return date, None
    local = dt.datetime.combine(date, time, tzinfo=ZoneInfo(tz))
    msk = local.astimezone(MOSCOW)
    return msk.date(), msk.time().replace(tzinfo=None)


def _days(values: Iterable[dt.date]) -> np.ndarray:
    return np.array([np.datetime64(d, "D") for d in values], dtype="datetime64[D]")


def _calendar(calendar: pd.DatetimeIndex | Sequence) -> np.ndarray:
    cal = pd.DatetimeIndex(calendar).normalize().unique().sort_values()
    return cal.to_numpy().astype("datetime64[D]")


def _covered(cal: np.ndarray, x: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """-1 where there is no row, or the row is more than MAX_LAG_DAYS after the statement day."""
    ok = pos < len(cal)
    if len(cal):
        lag = cal[np.clip(pos, 0, len(cal) - 1)] - x
        ok &= lag <= np.timedelta64(MAX_LAG_DAYS, "D")
    return np.where(ok, pos, -1)


def fixing_positions(calendar: pd.DatetimeIndex, days: Sequence[dt.date],
                     times: Sequence[dt.time | None] | None = None, fixing_time: dt.time = FIXING_TIME) -> np.ndarray:
    """Row positions of t0 on a CBR fixing calendar for Moscow days `days` (times in Moscow, or
    None); -1 where the series has no such row yet."""
    cal = _calendar(calendar)
    x = _days(days)
    pos = np.searchsorted(cal, x, side="right")  # first row dated strictly after X
    if times is not None:
        row_set = set(cal.tolist())
        late = np.array([t is not None and t >= fixing_time for t in times], dtype=bool)
        fixed_on_x = np.array([(d + np.timedelta64(1, "D")).item() in row_set for d in x], dtype=bool)
        pos = pos + (late & fixed_on_x)
    return _covered(cal, x, pos)


def close_positions(calendar: pd.DatetimeIndex, days: Sequence[dt.date],
                    times: Sequence[dt.time | None] | None = None, close_time: dt.time = CLOSE_TIME) -> np.ndarray:
    """Row positions of t0 on an end-of-day calendar (stress index): the first date >= X, or > X when
    the known Moscow time is at or after the close; -1 where there is no such row yet."""
    cal = _calendar(calendar)
    x = _days(days)
    pos = np.searchsorted(cal, x, side="left")
    if times is not None:
        late = np.array([t is not None and t >= close_time for t in times], dtype=bool)
        on_day = (pos < len(cal)) & (cal[np.clip(pos, 0, len(cal) - 1)] == x) if len(cal) else np.zeros(len(x), bool)
        pos = pos + (late & on_day)
    return _covered(cal, x, pos)


def fixing_t0(calendar: pd.DatetimeIndex, date: dt.date, time: dt.time | None = None,
              tz: str = "Europe/Moscow") -> pd.Timestamp | None:
    """t0 of one statement on a CBR fixing calendar (None when the series has no row yet)."""
    day, msk = moscow_day(date, time, tz)
    pos = fixing_positions(calendar, [day], [msk])[0]
    return None if pos < 0 else pd.Timestamp(_calendar(calendar)[pos])


def close_t0(calendar: pd.DatetimeIndex, date: dt.date, time: dt.time | None = None,
             tz: str = "Europe/Moscow") -> pd.Timestamp | None:
    """t0 of one statement on an end-of-day calendar (stress index)."""
    day, msk = moscow_day(date, time, tz)
    pos = close_positions(calendar, [day], [msk])[0]
    return None if pos < 0 else pd.Timestamp(_calendar(calendar)[pos])


def asof_positions(index: pd.DatetimeIndex, when: Sequence[pd.Timestamp]) -> np.ndarray:
    """Position of the last row of `index` dated on or before each `when` (-1 if none)."""
    idx = pd.DatetimeIndex(index).to_numpy().astype("datetime64[ns]")
    w = pd.DatetimeIndex(when).to_numpy().astype("datetime64[ns]")
    return np.searchsorted(idx, w, side="right") - 1
