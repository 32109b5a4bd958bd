"""The compute state gateway: one state per store, saved whole, read back as it was, dropped on
demand; a damaged array makes the state unusable (it is a cache) rather than wrong. Deletions of
observations are recorded for it."""

import datetime as dt

import numpy as np
import pytest

from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.store.compute_state import StoredState


def state(asof: dt.date, n: int) -> StoredState:
    return StoredState(asof, dt.date(1999, 1, 1), "fp", "2026-01-01T10:00:00Z",
                       {"index": np.r_[np.full(n - 2, np.nan), 0.25, 0.5], "measure:fx:fx.rv20.USD": np.arange(n, dtype=float)})


def test_save_load_replace_and_clear(store):
    assert store.compute_state.load() is None
    store.compute_state.save(state(dt.date(2024, 1, 3), 5))
    got = store.compute_state.load()
    assert (got.asof, got.grid_start, got.fingerprint, got.started_at) == (dt.date(2024, 1, 3), dt.date(1999, 1, 1),
                                                                           "fp", "2026-01-01T10:00:00Z")
    np.testing.assert_array_equal(got.arrays["index"], [np.nan, np.nan, np.nan, 0.25, 0.5])
    assert got.written_at.endswith("Z") and store.compute_state.load(with_arrays=False).arrays == {}
    store.compute_state.save(StoredState(dt.date(2024, 1, 4), dt.date(1999, 1, 1), "fp2", "x", {"index": np.ones(6)}))
    again = store.compute_state.load()
    assert again.fingerprint == "fp2" and list(again.arrays) == ["index"]  # saved whole, nothing left over
    store.compute_state.clear()
    assert store.compute_state.load() is None


def test_a_damaged_array_is_no_state(store):
    store.compute_state.save(state(dt.date(2024, 1, 3), 5))
    with store.transaction():  # a truncated blob, as a failing disk might leave it
        store._db.execute("UPDATE compute_state_arrays SET data = substr(data, 1, 16) WHERE name = 'index'")
    assert store.compute_state.load() is None


def test_deleting_a_sources_observations_is_recorded(store):
    store.observations.upsert_series([SeriesInfo("moex.index.IMOEX", "moex", "IMOEX", "points", "D", 0)])
    store.observations.write_observations([Observation("moex.index.IMOEX", dt.date(2024, 1, 3), 3000.0)],
                                          fetched_at=dt.datetime(2024, 1, 3, tzinfo=dt.timezone.utc))
    assert store.observations.deletions_since("") == []
    assert store.observations.delete_observations("moex") == 1
    assert store.observations.deletions_since("") == ["moex"]
    assert store.observations.deletions_since("2999-01-01T00:00:00Z") == []


@pytest.mark.parametrize("since,news", [("2999-01-01T00:00:00Z", {"cbr.fx.USD": dt.date(2024, 1, 4)}),
                                        ("2024-01-01T00:00:00Z", {"cbr.fx.USD": dt.date(2023, 12, 1)})])
def test_input_news_are_rows_written_since_or_known_after(store, since, news):
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB", "D", 0)])
    rows = [Observation("cbr.fx.USD", dt.date(2023, 12, 1), 90.0), Observation("cbr.fx.USD", dt.date(2024, 1, 4), 91.0),
            Observation("cbr.fx.USD", dt.date(2024, 1, 9), 92.0)]
    store.observations.write_observations(rows, fetched_at=dt.datetime(2024, 1, 10, tzinfo=dt.timezone.utc))
    # a reader as of 3 Jan that read before these rows were written sees them all as news; one that
    # read after sees only what became known after 3 Jan (and by 5 Jan)
    assert store.observations.input_news(["cbr.fx.USD"], since, dt.date(2024, 1, 3), dt.date(2024, 1, 5)) == news
