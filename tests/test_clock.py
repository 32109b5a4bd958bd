"""The one clock: timestamps as text, a fixed clock, and "today" in the [daemon] time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from stresswatch.clock import FixedClock, system_clock, timezone_of, today, utc_stamp
from stresswatch.errors import ConfigError
from stresswatch.store import Store
from tests.conftest import settings_for


def test_utc_stamp_is_utc_whole_seconds_with_a_z():
    moscow = dt.datetime(2024, 3, 2, 1, 30, 15, 999999, tzinfo=ZoneInfo("Europe/Moscow"))
    assert utc_stamp(moscow) == "2024-03-01T22:30:15Z"
    assert utc_stamp(dt.datetime(2024, 3, 1, 22, 30, 15)) == "2024-03-01T22:30:15Z"  # naive = UTC


def test_system_clock_is_aware_utc():
    now = system_clock()
    assert now.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - now).total_seconds()) < 5


def test_fixed_clock_stays_until_moved():
    clock = FixedClock("2024-03-01T22:30:00Z")
    assert clock() == clock() == dt.datetime(2024, 3, 1, 22, 30, tzinfo=dt.timezone.utc)
    clock.advance(dt.timedelta(hours=2))
    assert utc_stamp(clock()) == "2024-03-02T00:30:00Z"
    clock.set(dt.datetime(2024, 3, 4, 9, 0))
    assert clock().tzinfo is not None and utc_stamp(clock()) == "2024-03-04T09:00:00Z"


def test_today_is_the_clock_date_in_the_daemon_time_zone(tmp_path):
    late_friday = FixedClock("2024-03-01T22:30:00Z")  # already Saturday 01:30 in Moscow
    assert today(late_friday, settings_for(tmp_path)) == dt.date(2024, 3, 2)
    assert today(late_friday, settings_for(tmp_path, **{"daemon.timezone": "UTC"})) == dt.date(2024, 3, 1)
    assert timezone_of(settings_for(tmp_path)) == ZoneInfo("Europe/Moscow")
    with pytest.raises(ConfigError, match="time zone"):
        today(late_friday, settings_for(tmp_path, **{"daemon.timezone": "Mars/Olympus"}))


def test_the_store_stamps_its_writes_with_the_clock_it_was_opened_with(tmp_path):
    clock = FixedClock("2024-03-01T22:30:00Z")
    with Store.open(tmp_path / "sw.db", clock=clock) as store:
        store.ledger.start("fetch:cbr", "2024-01-01..2024-12-31")
        clock.advance(dt.timedelta(seconds=42))
        store.ledger.finish("fetch:cbr", "2024-01-01..2024-12-31", "success")
        row = store.ledger.get("fetch:cbr", "2024-01-01..2024-12-31")
        assert store.clock is clock
    assert row["started_at"] == "2024-03-01T22:30:00Z"
    assert row["finished_at"] == row["last_success"] == "2024-03-01T22:30:42Z"
