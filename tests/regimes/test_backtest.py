"""The backtest replays what the daily compute does, day by day, with only the data known each day;
its rows are stored, reused, extended, and replayed when the data known by them changes; the input
as known on a day is the same whether read from the store or served by InputHistory."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stresswatch.fetchers.base import Observation
from stresswatch.regimes.backtest import backtest
from stresswatch.regimes.inputs import InputHistory, read_input
from stresswatch.regimes.spec import get_spec
from stresswatch.regimes.update import update_all
from tests.regimes.simulated import sim_settings, write_sim


def _settings(tmp_path):
    # a first fit after 100 rows and a warm refit every 20 business days, so 200 days see them all
    return sim_settings(tmp_path, **{"regimes.min_fit_obs": 100, "regimes.refit_every": 20})


def _known_on_own_date(store, y: pd.Series) -> None:
    """Each value known at noon on its own date (a daily fetch)."""
    from stresswatch.fetchers.base import SeriesInfo

    store.observations.upsert_series([SeriesInfo("sim.x", "sim", "simulated", "x", "D")])
    for day, value in y.items():
        store.observations.write_observations([Observation("sim.x", day.date(), float(value))],
                                              fetched_at=dt.datetime.combine(day.date(), dt.time(12),
                                                                             tzinfo=dt.timezone.utc))


def test_backtest_rows_are_what_the_daily_compute_said_each_day(tmp_path, store, sim2):
    settings = _settings(tmp_path)
    y = sim2[0].iloc[:200]
    _known_on_own_date(store, y)
    days = [d.date() for d in y.index]
    result = backtest(store, settings, days[0], days[-1], "sim")
    rows = result.rows.set_index("asof")
    assert list(rows.index) == list(y.index)
    assert set(result.actions) == {"none", "cold", "filter", "warm"}
    daily = {}
    for day in days:  # the deployment, as compute runs it: one update per business day
        summary = update_all(store, settings, day)[0]
        daily[day] = summary
    for day in days:
        row, summary = rows.loc[pd.Timestamp(day)], daily[day]
        if summary.status == "skipped":
            assert pd.isna(row["date"]) and pd.isna(row["p_stress_filtered"]), day
            continue
        assert row["date"].date() == summary.last_date == day
        assert row["regime"] == summary.regime
        assert row["p_stress_filtered"] == pytest.approx(summary.p_stress_filtered, abs=1e-12), day
        assert row["action"] == summary.action, day


def test_no_look_ahead_a_later_revision_does_not_change_earlier_answers(tmp_path, store, sim2):
    settings = _settings(tmp_path)
    y = sim2[0].iloc[:200]
    _known_on_own_date(store, y)
    days = [d.date() for d in y.index]
    first = backtest(store, settings, days[0], days[149], "sim")
    # a revision of an early value, published on day 160: answers before day 160 must not move,
    # and the stored rows (whose data by day 149 is unchanged) are reused
    store.observations.write_observations([Observation("sim.x", days[120], 25.0)], fetched_at=dt.datetime.combine(
        days[160], dt.time(12), tzinfo=dt.timezone.utc))
    longer = backtest(store, settings, days[0], days[-1], "sim")
    assert longer.reused == 150 and longer.computed == 50 and not longer.replayed_because
    pd.testing.assert_frame_equal(longer.rows.iloc[:150].reset_index(drop=True), first.rows.reset_index(drop=True))
    assert longer.slow_days > 0  # days after the revision transform their own view of the history
    history = InputHistory(store, get_spec(settings, "sim"), days[-1])
    for day in (days[100], days[159], days[160], days[-1]):
        expected, _ = read_input(store, get_spec(settings, "sim"), day)
        got = history.on(day)
        assert list(got.dates) == list(expected.dates)
        np.testing.assert_array_equal(got.y, expected.y)
        np.testing.assert_array_equal(got.fit_ok, expected.fit_ok)
    assert read_input(store, get_spec(settings, "sim"), days[159])[0].y[120] == y.iloc[120]
    assert read_input(store, get_spec(settings, "sim"), days[160])[0].y[120] == 25.0


def test_a_backfill_known_inside_the_stored_range_replays_it(tmp_path, store, sim2):
    settings = _settings(tmp_path)
    y = sim2[0].iloc[:160]
    write_sim(store, y, fetched=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc))  # known on own dates (lag 0)
    days = [d.date() for d in y.index]
    backtest(store, settings, days[0], days[-1], "sim")
    # a revision known on day 130, inside the stored range: the stored rows no longer are what the
    # deployment would have said, so the backtest replays from its first day
    store.observations.write_observations([Observation("sim.x", days[50], -30.0)], fetched_at=dt.datetime.combine(
        days[130], dt.time(12), tzinfo=dt.timezone.utc))
    again = backtest(store, settings, days[0], days[-1], "sim")
    assert again.replayed_because and again.computed == len(days) and again.reused == 0
    assert "changed" in again.replayed_because
