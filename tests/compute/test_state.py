"""The daily append against a real Store: a compute for each new day appends to the stored state
and ends where a full compute ends; a revision inside the checked tail is written as a revision;
news too far back, deleted inputs, other settings or an earlier date compute the whole grid."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stresswatch.clock import FixedClock
from stresswatch.compute import compute
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.store import Store
from tests.conftest import settings_for

UTC = dt.timezone.utc
FIRST, DAY0, LAST = "2012-01-02", "2019-05-31", "2019-06-21"
LAGS = {"cbr.fx.USD": 0, "cbr.fx.EUR": 0, "cbr.keyrate": 0, "bis.cbpol.RU": 2, "bis.cbpol.US": 2,
        "moex.index.IMOEX": 0, "fred.DCOILBRENTEU": 7, "imf.imts.CHN_RUS.XG_FOB_USD": 45}


def history() -> dict[str, pd.Series]:
    """Seven and a half years of inputs like the real ones: CBR days (Saturday fixings, no
    Sunday/Monday rows), a key rate with moves, BIS rates with a lag, IMOEX with a closure, Brent
    with a 7-day lag, monthly trade."""
    rng = np.random.default_rng(4)
    days = pd.date_range(FIRST, LAST, freq="D")
    cbr = days[~days.day_of_week.isin([0, 6])]
    bdays = pd.bdate_range(FIRST, LAST)
    usd = pd.Series(60 * np.exp(np.cumsum(rng.normal(0, 0.006, len(cbr)))), index=cbr)
    key = pd.Series(7.75, index=cbr)
    for day, level in (("2014-12-16", 17.0), ("2015-02-02", 15.0), ("2016-06-14", 10.5), ("2019-06-17", 7.5)):
        key[key.index >= day] = level
    imoex = pd.Series(2000 * np.exp(np.cumsum(rng.normal(0, 0.012, len(bdays)))), index=bdays)
    months = pd.date_range(FIRST, LAST, freq="MS")
    return {
        "cbr.fx.USD": usd, "cbr.fx.EUR": usd * 1.12 * np.exp(rng.normal(0, 0.003, len(cbr))), "cbr.keyrate": key,
        "bis.cbpol.RU": key.reindex(bdays, method="ffill"), "bis.cbpol.US": pd.Series(1.5, index=bdays),
        "moex.index.IMOEX": imoex.drop(imoex["2016-03-01":"2016-03-20"].index),
        "fred.DCOILBRENTEU": pd.Series(60 * np.exp(np.cumsum(rng.normal(0, 0.02, len(bdays)))), index=bdays),
        "imf.imts.CHN_RUS.XG_FOB_USD": pd.Series(4e9 * np.exp(np.cumsum(rng.normal(0, 0.05, len(months)))),
                                                 index=months),
    }


def fetch(store: Store, data: dict[str, pd.Series], after: str | None, until: str, at: dt.datetime) -> None:
    """Write the rows dated in (after, until] as a fetch at `at` writes them."""
    for sid, s in data.items():
        rows = s[(s.index > pd.Timestamp(after)) if after else slice(None)]
        rows = rows[rows.index <= pd.Timestamp(until)]
        store.observations.upsert_series([SeriesInfo(sid, sid.split(".")[0], sid, "x",
                                                     "M" if sid.startswith("imf") else "D", LAGS[sid])])
        store.observations.write_observations([Observation(sid, d.date(), float(v)) for d, v in rows.items()],
                                              fetched_at=at)


def evening(day: str | pd.Timestamp, hour: int) -> dt.datetime:
    return dt.datetime.combine(pd.Timestamp(day).date(), dt.time(hour), tzinfo=UTC)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A store with the history up to DAY0, fetched on DAY0, and a full compute as of DAY0."""
    folder = tmp_path_factory.mktemp("append")
    data = history()
    clock = FixedClock(evening(DAY0, 18))
    with Store.open(folder / "base.db", clock=clock) as s:
        fetch(s, data, None, DAY0, clock())
        clock.set(evening(DAY0, 19))
        first = compute(s, cfg(folder), pd.Timestamp(DAY0).date(), run_regimes=False)
    assert first.mode == "full" and first.reason == "no stored state"
    return folder, data


def cfg(folder, **extra):
    return settings_for(folder, **{"compute.burn_in": 250, "compute.start": "2012-01-02", **extra})


@pytest.fixture
def live(base, tmp_path):
    folder, data = base
    shutil.copy(folder / "base.db", tmp_path / "sw.db")
    clock = FixedClock(evening(DAY0, 19))
    store = Store.open(tmp_path / "sw.db", clock=clock)
    yield store, clock, data, cfg(tmp_path)
    store.close()


def day_by_day(store, clock, data, settings, days):
    results = []
    previous = DAY0
    for day in days:
        clock.set(evening(day, 18))
        fetch(store, data, previous, day, clock())
        clock.set(evening(day, 19))
        results.append(compute(store, settings, day.date(), run_regimes=False))
        previous = day
    return results


def assert_same_as_full(store: Store, settings, asof: dt.date, tmp_path) -> None:
    """Everything the appends wrote equals what a full compute as of `asof` writes: on a copy
    without the state, the full compute finds every value already stored (it writes new values
    and changed ones only) and no series it does not write."""
    for suffix in ("", "-wal"):  # the open store's last writes may still be in its WAL file
        if Path(f"{store.path}{suffix}").exists():
            shutil.copy(f"{store.path}{suffix}", tmp_path / f"full.db{suffix}")
    with Store.open(tmp_path / "full.db") as full:
        full.compute_state.clear()
        before = {s["id"]: s["count"] for s in full.observations.list_series(source="compute")}
        r = compute(full, settings, asof, run_regimes=False)
        assert r.mode == "full"
        assert r.rows == 0, {k: v for k, v in r.written.items() if v}
        assert set(r.written) == set(before)


# ---------------------------------------------------------------------------------------------
def test_each_new_day_is_appended_and_ends_where_a_full_compute_ends(live, tmp_path):
    store, clock, data, settings = live
    days = pd.bdate_range(pd.Timestamp(DAY0) + pd.offsets.BDay(1), LAST)
    results = day_by_day(store, clock, data, settings, days)
    assert [r.mode for r in results] == ["append"] * len(days)
    assert [r.revised_days for r in results] == [0] * len(days)
    # the history did not change: a new day writes its own values only (one per daily series)
    assert all(r.written["stress.index"] == 1 for r in results)
    assert store.compute_state.load().asof == days[-1].date()
    assert_same_as_full(store, settings, days[-1].date(), tmp_path)


def test_rerunning_a_day_writes_nothing(live):
    store, clock, data, settings = live
    day = pd.Timestamp(DAY0) + pd.offsets.BDay(1)
    day_by_day(store, clock, data, settings, [day])
    clock.advance(dt.timedelta(minutes=5))
    again = compute(store, settings, day.date(), run_regimes=False)
    assert (again.mode, again.rows, again.revised_days) == ("append", 0, 0)


def test_a_revision_in_the_checked_tail_is_written_as_a_revision(live, tmp_path):
    store, clock, data, settings = live
    days = pd.bdate_range(pd.Timestamp(DAY0) + pd.offsets.BDay(1), periods=3)
    day_by_day(store, clock, data, settings, days)
    # the Bank of Russia corrects the USD fixing of two days ago the next morning
    corrected = days[-2] + pd.offsets.Day(1)  # the row dated the day after (CBR dates by day in force)
    old = store.observations.read_series("cbr.fx.USD", start=corrected, end=corrected).iloc[0]
    clock.set(evening(days[-1] + pd.offsets.BDay(1), 9))
    store.observations.write_observations([Observation("cbr.fx.USD", corrected.date(), old * 1.08)], fetched_at=clock())
    next_day = days[-1] + pd.offsets.BDay(1)
    r = day_by_day(store, clock, data, settings, [next_day])[0]
    assert r.mode == "append" and r.revised_days >= 1 and r.recomputed_from <= corrected.date()
    before = store.observations.read_series("stress.segment.fx", asof=days[-1].date())
    after = store.observations.read_series("stress.segment.fx", asof=next_day.date())
    assert before[days[-1]] != after[days[-1]]  # the old value stays readable as of the day it was computed
    assert_same_as_full(store, settings, next_day.date(), tmp_path)


def test_history_rewritten_far_back_computes_the_whole_grid(live):
    store, clock, data, settings = live
    day = pd.Timestamp(DAY0) + pd.offsets.BDay(1)
    clock.set(evening(day, 9))  # a revision of 2013, fetched on the morning of the next day
    store.observations.write_observations([Observation("cbr.fx.EUR", dt.date(2013, 3, 5), 45.0)], fetched_at=clock())
    r = day_by_day(store, clock, data, settings, [day])[0]
    assert r.mode == "full" and "start of the grid" in r.reason


def test_deleted_inputs_compute_the_whole_grid(live):
    store, clock, data, settings = live
    clock.set(evening(pd.Timestamp(DAY0) + pd.offsets.BDay(1), 9))
    store.observations.delete_observations("moex")
    fetch(store, {"moex.index.IMOEX": data["moex.index.IMOEX"]}, None, DAY0, evening(DAY0, 18))  # reparse
    r = day_by_day(store, clock, data, settings, [pd.Timestamp(DAY0) + pd.offsets.BDay(1)])[0]
    assert r.mode == "full" and "moex" in r.reason


def test_other_settings_compute_the_whole_grid(live, tmp_path):
    store, clock, data, _ = live
    r = day_by_day(store, clock, data, cfg(tmp_path, **{"compute.burn_in": 260}),
                   [pd.Timestamp(DAY0) + pd.offsets.BDay(1)])[0]
    assert r.mode == "full" and "settings" in r.reason


def test_an_earlier_date_computes_in_full_and_keeps_the_later_state(live):
    store, clock, data, settings = live
    clock.advance(dt.timedelta(minutes=5))
    earlier = compute(store, settings, (pd.Timestamp(DAY0) - pd.offsets.BDay(30)).date(), run_regimes=False)
    assert earlier.mode == "full" and "later date" in earlier.reason and earlier.rows == 0
    assert store.compute_state.load().asof == pd.Timestamp(DAY0).date()
    r = day_by_day(store, clock, data, settings, [pd.Timestamp(DAY0) + pd.offsets.BDay(1)])[0]
    assert r.mode == "append"
