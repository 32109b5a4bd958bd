"""The mail package's one timestamp helper (outbox stamps, back-off times, the test subject).

TO BE REPLACED by `stresswatch.clock.utc_stamp` (the same text) when the application layer lands.
"""

from __future__ import annotations

import datetime as dt


def stamp(value: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, whole seconds (a naive datetime is taken as UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.replace(microsecond=0).isoformat() + "Z"
