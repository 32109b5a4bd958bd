"""The App session: one "today" (the clock's date in [daemon] timezone) for every command's default
date, and a store stamped with the same clock."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from stresswatch.app.session import App
from stresswatch.cli import build_parser
from stresswatch.clock import FixedClock
from stresswatch.errors import UsageError
from tests.conftest import settings_for

LATE_FRIDAY = "2024-03-01T22:30:00Z"  # Saturday 01:30 in Moscow


def _run(app: App, *argv: str) -> int:
    args = build_parser().parse_args(list(argv))
    return args.handler(args, app)


def test_today_follows_the_daemon_time_zone(tmp_path):
    out = io.StringIO()
    assert App(settings_for(tmp_path), out, FixedClock(LATE_FRIDAY)).today() == dt.date(2024, 3, 2)
    utc = settings_for(tmp_path, **{"daemon.timezone": "UTC"})
    assert App(utc, out, FixedClock(LATE_FRIDAY)).today() == dt.date(2024, 3, 1)


def test_status_and_report_default_to_the_same_today(tmp_path):
    out = io.StringIO()
    app = App(settings_for(tmp_path), out, FixedClock(LATE_FRIDAY))
    try:
        assert _run(app, "status", "--format", "json") == 0
        assert json.loads(out.getvalue())["asof"] == "2024-03-02"
        # the report's "today" is the same date: Saturday is not in the future, Sunday is
        with pytest.raises(UsageError, match=r"2024-03-03 is in the future \(today is 2024-03-02\)"):
            _run(app, "report", "--date", "2024-03-03", "--no-compute")
    finally:
        app.close()


def test_the_store_is_opened_once_with_the_app_clock(tmp_path):
    app = App(settings_for(tmp_path), io.StringIO(), FixedClock(LATE_FRIDAY))
    try:
        store = app.store()
        assert app.store() is store and store.clock is app.clock
        store.ledger.finish("day:fetch", "2024-03-02", "success")
        assert store.ledger.get("day:fetch", "2024-03-02")["finished_at"] == "2024-03-01T22:30:00Z"
    finally:
        app.close()
