"""The one business-day calendar (Monday to Friday; no holiday list): how many business days
lie between two dates, the previous business day, and the business days of a range.

Staleness in `status`, the report's freshness section and the alerts count with
`business_days_between`, so they agree on weekends: the count is of business days *after*
`earlier` up to and including `later` — Friday -> Saturday is 0, Saturday -> Monday is 1,
Friday -> Monday is 1.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

_DAY = dt.timedelta(days=1)


def business_days_between(earlier: dt.date, later: dt.date) -> int:
    """Business days after `earlier` up to and including `later` (0 when `later <= earlier`)."""
    if later <= earlier:
        return 0
    return int(np.busday_count(earlier + _DAY, later + _DAY))


def business_days_in(start: dt.date, end: dt.date) -> int:
    """Business days from `start` to `end`, both included (0 when end < start)."""
    return business_days_between(start - _DAY, end)


def is_business_day(day: dt.date) -> bool:
    return bool(np.is_busday(day))


def previous_business_day(day: dt.date) -> dt.date:
    """The last business day before `day` (Monday -> Friday; Saturday and Sunday -> Friday)."""
    return np.busday_offset(day, -1, roll="forward").astype(dt.date)


def business_day_on_or_before(day: dt.date) -> dt.date:
    """`day` itself when it is a business day, else the business day before it."""
    return np.busday_offset(day, 0, roll="backward").astype(dt.date)


def business_days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every business day from `start` to `end`, both included (empty when end < start)."""
    count = int(np.busday_count(start, end + _DAY)) if end >= start else 0
    if count == 0:
        return []
    first = np.busday_offset(start, 0, roll="forward")
    return list(np.busday_offset(first, np.arange(count)).astype(dt.date))
