"""reports.reader: the cached as-of view equals the store's own as-of reads, vintages included."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from stresswatch.fetchers.base import Observation
from stresswatch.reports.reader import SeriesReader
from stresswatch.store import Store


def test_series_reader_cache_matches_store_reads_with_vintages(tmp_path):
    store = Store.open(tmp_path / "v.db")
    from stresswatch.fetchers.base import SeriesInfo

    store.observations.upsert_series([SeriesInfo("x.m", "x", "x", "u", "M", 10)])
    t = dt.timezone.utc
    store.observations.write_observations([Observation("x.m", dt.date(2023, 1, 1), 1.0),
                                           Observation("x.m", dt.date(2023, 2, 1), 2.0)],
                                          fetched_at=dt.datetime(2023, 3, 1, tzinfo=t))
    store.observations.write_observations([Observation("x.m", dt.date(2023, 1, 1), 1.5)],
                                          fetched_at=dt.datetime(2023, 3, 5, tzinfo=t))
    store.observations.write_observations([Observation("x.m", dt.date(2023, 3, 1), 3.0)],
                                          fetched_at=dt.datetime(2023, 3, 20, tzinfo=t))
    cached = SeriesReader(store, cache=True)
    plain = SeriesReader(store, cache=False)
    for day in pd.date_range("2022-12-30", "2023-04-01", freq="D"):
        d = day.date()
        a, b = cached.read("x.m", d), store.observations.read_series("x.m", end=d, asof=d)
        pd.testing.assert_series_equal(a, b, check_freq=False)
        pd.testing.assert_series_equal(plain.read("x.m", d), b, check_freq=False)
    assert cached.read("x.m", dt.date(2023, 3, 4)).tolist() == [1.0, 2.0]
    assert cached.read("x.m", dt.date(2023, 3, 5)).tolist() == [1.5, 2.0]
    store.close()


def test_the_catalogue_is_read_once_per_report_and_refresh_sees_new_series(tmp_path):
    """Sections ask for the catalogue about twenty times per report; one read of the series table
    serves them all, and a builder that lives on (the daemon) sees the store anew
    for its next report."""
    from stresswatch.fetchers.base import SeriesInfo

    store = Store.open(tmp_path / "c.db")
    store.observations.upsert_series([SeriesInfo("x.a", "x", "a", "u", "D", 0)])
    reader = SeriesReader(store)
    first = reader.catalog()
    assert reader.catalog() is first and [r["id"] for r in first] == ["x.a"]
    store.observations.upsert_series([SeriesInfo("x.b", "x", "b", "u", "D", 0)])
    assert reader.ids("x.") == ["x.a"]
    reader.refresh()
    assert reader.ids("x.") == ["x.a", "x.b"] and reader.info("x.b")["name"] == "b"
    store.close()


def test_the_empty_store_notice_reads_the_oldest_stored_date(tmp_path):
    """`stored_data` judges from the catalogue's oldest dates: no series, series without
    observations, history that starts after D, and history known on D."""
    from stresswatch.fetchers.base import SeriesInfo
    from stresswatch.reports.sections.stored_data import stored_data

    store = Store.open(tmp_path / "e.db")
    day = dt.date(2023, 8, 16)
    no_failures = lambda names: []  # noqa: E731  (the ledger has none)
    assert stored_data(SeriesReader(store), ["cbr"], day, no_failures)["stored"] is False
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "US dollar", "RUB", "D", 0)])
    out = stored_data(SeriesReader(store), ["cbr"], day, no_failures)
    assert out["empty"] is True and out["stored"] is False
    fetched = dt.datetime(2023, 9, 1, tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2023, 8, 20), 95.0)], fetched_at=fetched)
    out = stored_data(SeriesReader(store), ["cbr"], day, no_failures)
    assert out["empty"] is True and out["stored"] is True and "starts on 2023-08-20" in out["message"]
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2023, 8, 1), 90.0)], fetched_at=fetched)
    assert stored_data(SeriesReader(store), ["cbr"], day, no_failures)["empty"] is False
    store.close()
