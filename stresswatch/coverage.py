"""Completeness: may a partition whose answer holds no value of a series be recorded complete?

An empty answer is a hole, not "no data", when the series is known to exist and its next value is
overdue (a series already overdue when the window starts, while the same answer brings the
source's other series, is taken as no longer published): for every series the source publishes continuously (`Fetcher.continuous_series`), the
last value known before the window -- stored within `partition.LOOKBACK_DAYS`, or the day before
the date since which the source is known to publish it (`Fetcher.published_since`) -- plus the
series' period allowance and publication lag may fall at most `grace` business days (the
source's `coverage_grace_bdays`) behind the end of the window (or the fetch day, when the window
runs into the future). That is the staleness rule of `status.series_stale`. The partition then
fails and is asked for again on the next run.

Values already stored inside the window count as known (an incremental fetch re-asks a few
overlap days), so a source that merely has nothing new yet is not blamed. Without either kind of
knowledge an empty answer stays legitimate -- a series that starts later, an IMF dataset without
series, a Comtrade `count: 0` -- and a window of holidays leaves a gap shorter than the grace.
An answer that is short by its own account (a MOEX cursor announcing more rows than arrive, a
Comtrade `count` above its rows, a CBR `DateRange` other than the one asked for) is refused by the
source's parser.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from stresswatch.fetchers.base import SeriesInfo
from stresswatch.plausibility import period_start
from stresswatch.status import series_stale


def coverage_problem(info: SeriesInfo, span: tuple[dt.date, dt.date], fetched_on: dt.date,
                     known_dates: Iterable[dt.date], last_before: dt.date | None,
                     published_since: dt.date | None, grace_bdays: int, source_alive: bool = False) -> str | None:
    """Why the window `span` of `info`, known to exist, came back empty though values are due, or
    None. `known_dates`: dates with a value (accepted now or stored); `last_before`: the newest
    stored date before `span` (None when there is none nearby); `source_alive`: the same answer
    brought values of other series of the source."""
    start, end = span
    through = min(end, fetched_on)
    if through < start:
        return None
    first_period = period_start(start, info.frequency)  # a monthly value is dated the 1st
    if any(first_period <= d <= end for d in known_dates):
        return None
    last = last_before
    if last is not None and published_since is None and source_alive and \
            series_stale(last, info.frequency, info.publication_lag_days, start, grace_bdays):
        # already overdue when the window starts while the source answers for its other series:
        # this series is no longer published (BIS stopped Japan's policy rate in April 2013), so
        # its empty window is not a hole. A wholly empty answer is never excused this way, nor a
        # series the source is known to publish continuously (`published_since`: the CBR rates).
        return None
    if last is None:
        if published_since is None or published_since > through:
            return None  # not known to exist: an empty answer is legitimate
        last = max(published_since, start) - dt.timedelta(days=1)
    if not series_stale(last, info.frequency, info.publication_lag_days, through, grace_bdays):
        return None
    known = f"last stored {last_before}" if last_before else f"published since {published_since}"
    return f"{info.id}: no values for {start}..{through} ({known}); will ask again"
