"""Series and observations: vintages and as-of reads, derived series, the last observation."""

import datetime as dt

import pandas as pd
import pytest

from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Observation, SeriesInfo

UTC = dt.timezone.utc
USD = SeriesInfo("cbr.fx.USD", "cbr", "US dollar", "RUB per 1 USD", "D", 0)
TRADE = SeriesInfo("imf.x", "imf", "exports", "USD", "M", 75)


def obs(series, day, value):
    return Observation(series, dt.date.fromisoformat(day), value)


def test_history_fetched_after_the_fact_is_known_at_date_plus_lag(store):
    store.observations.upsert_series([USD, TRADE])
    fetched = dt.datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399),
                                                  obs("imf.x", "2023-06-01", 9.5e9)], fetched_at=fetched) == 2
    v = store.observations.read_vintaged("cbr.fx.USD")
    assert v["known_at"].iloc[0] == pd.Timestamp("2023-08-15")
    trade = store.observations.read_vintaged("imf.x")
    assert trade["known_at"].iloc[0] == pd.Timestamp("2023-06-01") + pd.Timedelta(days=75)
    assert store.observations.read_series("imf.x", asof="2023-08-01").empty
    assert store.observations.read_series("imf.x", asof="2023-08-15").iloc[0] == 9.5e9


def test_live_fetch_is_known_on_the_fetch_day(store):
    store.observations.upsert_series([TRADE])
    store.observations.write_observations([obs("imf.x", "2024-01-01", 1.0)],
                                          fetched_at=dt.datetime(2024, 2, 20, tzinfo=UTC))
    assert store.observations.read_vintaged("imf.x")["known_at"].iloc[0] == pd.Timestamp("2024-02-20")


def test_unchanged_refetch_writes_nothing_and_a_revision_adds_a_vintage(store):
    store.observations.upsert_series([USD])
    first = dt.datetime(2024, 1, 1, tzinfo=UTC)
    store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399)], fetched_at=first)
    assert store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399)],
                                                 fetched_at=first + dt.timedelta(days=3)) == 0
    assert store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.5)],
                                                 fetched_at=dt.datetime(2024, 3, 1, tzinfo=UTC)) == 1
    frame = store.observations.all_vintages("cbr.fx.USD").sort_values("known_at")
    rows = list(zip(frame["known_at"].dt.strftime("%Y-%m-%d"), frame["value"]))
    assert [tuple(r) for r in rows] == [("2023-08-15", 101.0399), ("2024-03-01", 101.5)]
    assert store.observations.read_series("cbr.fx.USD", asof="2024-02-29").iloc[0] == 101.0399
    assert store.observations.read_series("cbr.fx.USD", asof="2024-03-01").iloc[0] == 101.5
    assert store.observations.read_series("cbr.fx.USD").iloc[0] == 101.5


def test_read_series_range_and_index(store):
    store.observations.upsert_series([USD])
    store.observations.write_observations([obs("cbr.fx.USD", d, v) for d, v in
                                           [("2023-08-11", 97.3), ("2023-08-12", 97.0), ("2023-08-15", 101.0399)]],
                             fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
    s = store.observations.read_series("cbr.fx.USD", start="2023-08-12", end="2023-08-15")
    assert list(s.index.strftime("%Y-%m-%d")) == ["2023-08-12", "2023-08-15"]
    assert s.index.name == "date" and s.dtype == float


def test_unregistered_series_is_refused(store):
    with pytest.raises(StoreError, match="not registered"):
        store.observations.write_observations([obs("nope", "2024-01-01", 1.0)],
                                              fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))


def test_derived_series_point_in_time_and_revisions(store):
    info = SeriesInfo("stress.index", "stress", "index", "0-1", "D")
    values = pd.Series([0.1, 0.2], index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    assert store.observations.write_derived(info, values) == 2
    assert store.observations.write_derived(info, values) == 0
    revised = pd.Series([0.1, 0.25], index=values.index)
    assert store.observations.write_derived(info, revised, asof=dt.date(2024, 2, 1)) == 1
    assert store.observations.read_series("stress.index", asof="2024-01-31").tolist() == [0.1, 0.2]
    assert store.observations.read_series("stress.index").tolist() == [0.1, 0.25]


def test_all_vintages_and_last_observation_date(store):
    store.observations.upsert_series([USD])
    store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399),
                                           obs("cbr.fx.USD", "2023-08-16", 97.4217)],
                                          fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
    store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.5)],
                                          fetched_at=dt.datetime(2024, 3, 1, tzinfo=UTC))
    frame = store.observations.all_vintages("cbr.fx.USD")
    assert list(frame.columns) == ["date", "known_at", "value"]
    assert frame["value"].tolist() == [101.0399, 101.5, 97.4217]
    assert store.observations.last_observation_date("cbr", dt.date(2023, 8, 15)) == dt.date(2023, 8, 15)
    assert store.observations.last_observation_date("cbr", dt.date(2023, 8, 31)) == dt.date(2023, 8, 16)
    assert store.observations.last_observation_date("cbr", dt.date(2023, 1, 1)) is None


def test_series_entries_give_each_series_its_oldest_date_as_list_series_does(store):
    store.observations.upsert_series([USD, TRADE, SeriesInfo("x.empty", "x", "nothing yet", "u", "D", 0)])
    fetched = dt.datetime(2026, 1, 5, 12, tzinfo=UTC)
    store.observations.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0), obs("cbr.fx.USD", "2023-08-14", 100.0),
                                           obs("imf.x", "2023-06-01", 9.5e9)], fetched_at=fetched)
    store.observations.write_observations([obs("cbr.fx.USD", "2023-08-14", 100.5)],
                                          fetched_at=fetched + dt.timedelta(days=1))  # a revision: a second vintage
    entries = store.observations.series_entries()
    assert [e["id"] for e in entries] == ["cbr.fx.USD", "imf.x", "x.empty"]
    assert {e["id"]: e["first"] for e in entries} == {"cbr.fx.USD": "2023-08-14", "imf.x": "2023-06-01", "x.empty": None}
    listed = {r["id"]: r for r in store.observations.list_series()}
    for e in entries:
        assert {k: listed[e["id"]][k] for k in e} == e
