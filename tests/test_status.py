"""`status` staleness on a weekend: ages in business days after the last fact up to and including
the day asked about (Friday -> Saturday 0, Saturday -> Monday 1), the calendar alerts use too."""

from __future__ import annotations

import datetime as dt
import io
import json

import pandas as pd

from stresswatch import cli, status
from stresswatch.bizdays import business_days_between
from stresswatch.clock import FixedClock
from stresswatch.fetchers.base import SeriesInfo
from stresswatch.store import Store
from tests.conftest import settings_for

FRI, SAT, SUN, MON, TUE = (dt.date(2024, 3, 1) + dt.timedelta(days=i) for i in range(5))
STALE_DAYS = 1


def _store(tmp_path) -> Store:
    """cbr fetched successfully on Friday evening; its USD rate last dated Saturday (the Bank of
    Russia dates a rate by the day it takes effect, Saturdays included)."""
    store = Store.open(tmp_path / "sw.db", clock=FixedClock(dt.datetime(2024, 3, 1, 18, 0)))
    store.ledger.start("fetch:cbr", "2024-01-01..2024-12-31")
    store.ledger.finish("fetch:cbr", "2024-01-01..2024-12-31", "success", covered=(dt.date(2024, 1, 1), SAT))
    store.observations.write_derived(SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB per USD", "D", 0),
                                     pd.Series([90.1, 90.6], index=pd.DatetimeIndex(["2024-03-01", "2024-03-02"])))
    return store


def test_source_and_series_staleness_over_a_weekend(tmp_path):
    settings = settings_for(tmp_path, **{"sources.cbr.stale_days": STALE_DAYS})
    store = _store(tmp_path)
    try:
        for day in (SAT, SUN, MON, TUE):
            source = {r["source"]: r for r in status.source_status(store, settings, day)}["cbr"]
            series = {r["series"]: r for r in status.series_status(store, settings, day)}["cbr.fx.USD"]
            assert source["last_success"] == "2024-03-01T18:00:00Z"
            assert source["stale"] is (business_days_between(FRI, day) > STALE_DAYS), day
            assert series["last"] == "2024-03-02"
            assert series["stale"] is (business_days_between(SAT, day) > STALE_DAYS), day
            # the report's freshness section judges a series the same way
            assert status.series_stale(SAT, "D", 0, day, STALE_DAYS) is series["stale"]
        # spelled out: Friday's fetch is not stale on Saturday (0 days) nor on Monday (1 day), it is on
        # Tuesday (2); Saturday's rate is 1 business day old on Monday and 2 on Tuesday
        stale = {day: {r["source"]: r for r in status.source_status(store, settings, day)}["cbr"]["stale"]
                 for day in (SAT, MON, TUE)}
        assert stale == {SAT: False, MON: False, TUE: True}
        assert [status.series_status(store, settings, d)[0]["stale"] for d in (SUN, MON, TUE)] == [False, False, True]
    finally:
        store.close()


def test_status_command_judges_as_of_the_date_given(tmp_path):
    _store(tmp_path).close()
    db = str(tmp_path / "sw.db")
    out = io.StringIO()
    assert cli.main(["--store", db, "status", "--date", MON.isoformat(), "--format", "json"], out=out) == 0
    data = json.loads(out.getvalue())
    assert data["asof"] == MON.isoformat()
    assert {r["series"]: r["stale"] for r in data["series"]}["cbr.fx.USD"] is False
    assert "daemon" in data and "trade_check" in data


def test_status_and_the_staleness_alert_count_business_days_the_same_way(tmp_path):
    """Saturday's rate seen from Friday, Saturday, Monday and Tuesday: `status` and the cbr-stale
    alert give the same age and the same verdict (the old status counter said Saturday -> Tuesday
    is 1 business day, the alerts 2; now both say 2)."""
    from stresswatch.alerts.evaluators import eval_source_stale
    from stresswatch.alerts.rules import Rule

    settings = settings_for(tmp_path, **{"sources.cbr.stale_days": STALE_DAYS})
    store = _store(tmp_path)
    rule = Rule("cbr-stale", "source_stale", source="cbr", days=STALE_DAYS)
    try:
        seen = {}
        for day in (FRI, SAT, MON, TUE):
            [signal] = eval_source_stale(rule, store, settings, day)
            series = {r["series"]: r for r in status.series_status(store, settings, day)}["cbr.fx.USD"]
            last = dt.date.fromisoformat(series["last"]) if day >= SAT else FRI
            assert signal.value == business_days_between(last, day), day
            assert signal.high is series["stale"], day
            seen[day] = (signal.value, signal.high)
        assert seen == {FRI: (0.0, False), SAT: (0.0, False), MON: (1.0, False), TUE: (2.0, True)}
    finally:
        store.close()
