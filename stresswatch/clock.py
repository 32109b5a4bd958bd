"""The one clock and the one definition of "today".

A `Clock` is any callable returning the current moment as an aware datetime (UTC by convention).
Everything that needs the time takes one — the CLI's App, the daily cycle, the daemon, the
pipeline and the store (for its written_at / finished_at stamps) — so a test can fix the time
with `FixedClock`. Nothing else in stresswatch reads the wall clock.

- `utc_stamp(moment)` is the one way a moment becomes text: `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole
  seconds), as stored in every `*_at` column.
- `today(clock, settings)` is the one definition of today: the clock's date in the
  `[daemon] timezone` (the zone the daily run is scheduled in), used by `run`, `report` and every
  command's default date.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stresswatch.errors import ConfigError
from stresswatch.settings import Settings

#: a callable returning the current moment (an aware datetime)
Clock = Callable[[], dt.datetime]


def system_clock() -> dt.datetime:
    """The wall clock, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class FixedClock:
    """A clock that always says `moment` (naive = UTC) until `advance` or `set` moves it."""

    def __init__(self, moment: dt.datetime | str):
        self.moment = _aware(moment)

    def __call__(self) -> dt.datetime:
        return self.moment

    def advance(self, delta: dt.timedelta) -> None:
        self.moment += delta

    def set(self, moment: dt.datetime | str) -> None:
        self.moment = _aware(moment)

    def __repr__(self) -> str:
        return f"FixedClock({utc_stamp(self.moment)})"


def _aware(moment: dt.datetime | str) -> dt.datetime:
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment


def utc_stamp(moment: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC (microseconds dropped; a naive datetime is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def timezone_of(settings: Settings) -> ZoneInfo:
    """The `[daemon] timezone` (ConfigError when it is not a known IANA zone)."""
    name = settings["daemon"]["timezone"]
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"[daemon] timezone = {name!r} is not a known IANA time zone "
                          "(e.g. Europe/Moscow, UTC)") from None


def today(clock: Clock, settings: Settings) -> dt.date:
    """Today: the clock's date in the `[daemon] timezone`."""
    return clock().astimezone(timezone_of(settings)).date()
