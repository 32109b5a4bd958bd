"""The run ledger: a unit's row commits with its data; attempts count; errors are redacted."""

import datetime as dt

import pytest

from stresswatch.fetchers.base import Observation, SeriesInfo

UTC = dt.timezone.utc
USD = SeriesInfo("cbr.fx.USD", "cbr", "US dollar", "RUB per 1 USD", "D", 0)


def obs(series, day, value):
    return Observation(series, dt.date.fromisoformat(day), value)


def test_ledger_rows_commit_with_the_partition(store):
    store.observations.upsert_series([USD])
    store.ledger.start("fetch:cbr", "2023", dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0)],
                                                  fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
            store.ledger.finish("fetch:cbr", "2023", "success", rows=1,
                                covered=(dt.date(2023, 1, 1), dt.date(2023, 12, 31)))
            raise RuntimeError("crash between write and commit")
    assert store.observations.read_series("cbr.fx.USD").empty
    row = store.ledger.get("fetch:cbr", "2023")
    assert row["status"] == "running" and row["attempts"] == 1
    store.ledger.start("fetch:cbr", "2023")
    store.ledger.finish("fetch:cbr", "2023", "failed", error="boom api_key=SECRET")
    row = store.ledger.get("fetch:cbr", "2023")
    assert row["attempts"] == 2 and row["status"] == "failed" and "SECRET" not in row["error"]


def test_rows_a_dead_writer_left_running_are_closed_as_interrupted(store):
    store.ledger.start("fetch:cbr", "2013-01-01..2013-12-31")
    store.ledger.finish("fetch:cbr", "2012-01-01..2012-12-31", "success", rows=5)
    assert store.ledger.close_interrupted() == [("fetch:cbr", "2013-01-01..2013-12-31")]
    row = store.ledger.get("fetch:cbr", "2013-01-01..2013-12-31")
    assert row["status"] == "failed" and row["error"].startswith("interrupted") and row["finished_at"]
    assert store.ledger.get("fetch:cbr", "2012-01-01..2012-12-31")["status"] == "success"
    assert store.ledger.close_interrupted() == []
