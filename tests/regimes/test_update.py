"""The update policy with the real Store: cold fit, filter-only updates, warm refits, as-of
semantics, no look-ahead, planted probabilities."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stresswatch.fetchers.base import Observation
from stresswatch.regimes.fit import evaluate, fit_robust
from stresswatch.regimes.runs import latest_run, store_filtered_probabilities
from stresswatch.regimes.spec import (
    get_spec,
)
from stresswatch.regimes.state import regime_state, run_forecast
from stresswatch.regimes.update import update_all, update_model
from tests.conftest import settings_for
from tests.regimes.simulated import (
    sim_settings,
    write_sim,
)

#: numpy filter (regimes/filtering.py) against statsmodels' own filter and smoother
TOL = 1e-9


def test_storage_round_trip_filter_update_and_asof(tmp_path, store, sim2):
    settings = sim_settings(tmp_path)
    y = sim2[0]
    write_sim(store, y)
    d1 = y.index[1199].date()
    d2 = y.index[1209].date()
    s1 = update_all(store, settings, d1)
    assert [(s.model_id, s.status) for s in s1] == [("sim", "cold")]
    run1 = latest_run(store, "sim", d1)
    assert run1.kind == "cold" and run1.n == 1200 and run1.data_last == d1 and run1.data_vintage == d1
    assert run1.spec.to_json()["id"] == "sim" and run1.converged and run1.accepted

    fit = fit_robust(y.iloc[:1200], get_spec(settings, "sim"), search_reps=4, seeds=(1, 2))
    np.testing.assert_allclose(run1.param_vector, fit.params, rtol=1e-8)
    probs1 = regime_state(store, settings, d1, "sim").frame()
    # issue 11: every row says its basis and the fit that produced it; the fit's own day is the one
    # real-time answer, the earlier dates are that fit's parameters over them (hindsight)
    assert list(probs1.columns) == ["date", "regime", "p_stress_filtered", "p_stress_smoothed", "basis", "fit_asof"]
    assert list(probs1["basis"].iloc[-2:]) == ["hindsight", "real-time"] and set(probs1["fit_asof"]) == {pd.Timestamp(d1)}
    np.testing.assert_allclose(probs1["p_stress_smoothed"], fit.smoothed[:, 1], atol=TOL)
    np.testing.assert_allclose(probs1["p_stress_filtered"], fit.filtered[:, 1], atol=TOL)

    # rerunning the same asof with the same data does nothing
    assert update_all(store, settings, d1)[0].status == "existing"

    # ten days later: filter-only with the stored parameters; a run stores its day's answer only
    # (issue 12: stored probabilities no longer grow with the history)
    s2 = update_all(store, settings, d2)[0]
    assert s2.status == "filter"
    run2 = latest_run(store, "sim", d2)
    assert run2.kind == "filter" and run2.fit_run_id == run1.id and run2.params == run1.params
    own_rows = len(store.model_runs.probabilities(run2.id, run2.spec.k_regimes))
    assert own_rows == 1
    full = regime_state(store, settings, d2, "sim").frame(full=True)
    expected = evaluate(y.iloc[:1210], get_spec(settings, "sim"), run1.param_vector)
    assert len(full) == 1210
    np.testing.assert_allclose(full["p_smoothed_1"], expected.smoothed[:, 1], atol=TOL)
    np.testing.assert_allclose(full["p_filtered_0"], expected.filtered[:, 0], atol=TOL)
    # filtered values of old dates are unchanged by the update (real-time values never move)
    np.testing.assert_allclose(full["p_stress_filtered"][:1200], probs1["p_stress_filtered"], atol=TOL)
    assert (full["basis"] == "real-time").sum() == 2  # the answers of d1 and d2

    # as of: a date between the runs reads the first run; before any run there is nothing
    assert latest_run(store, "sim", y.index[1205].date()).id == run1.id
    assert latest_run(store, "sim", y.index[100].date()) is None
    assert regime_state(store, settings, y.index[100].date(), "sim").frame().empty

    summary = regime_state(store, settings, d2, "sim").summary()
    assert summary["fit_run_id"] == run1.id and summary["kind"] == "filter"
    np.testing.assert_allclose(list(summary["forecast"][5].values()), run_forecast(run2, 5))
    assert summary["expected_durations"]["stress"] == pytest.approx(1 / (1 - run1.transition[1, 1]))


def test_no_look_ahead_values_known_later_are_not_used(tmp_path, store, sim2):
    settings = sim_settings(tmp_path)
    y = sim2[0].iloc[:1000]
    write_sim(store, y)
    asof = y.index[899].date()
    # a revision of an early value published after `asof` must not change the run for `asof`
    late = dt.datetime.combine(y.index[950].date(), dt.time(12), tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("sim.x", y.index[10].date(), 99.0)], fetched_at=late)
    update_all(store, settings, asof)
    run = latest_run(store, "sim", asof)
    assert run.n == 900 and run.data_last == asof
    clean = fit_robust(y.iloc[:900], get_spec(settings, "sim"), search_reps=4, seeds=(1, 2))
    assert run.llf == pytest.approx(clean.llf, abs=1e-6)


def test_refit_is_warm_when_due_and_flags_fallback(tmp_path, store, sim2):
    settings = sim_settings(tmp_path, **{"regimes.refit_every": 5})
    y = sim2[0]
    write_sim(store, y)
    d1, d2, d3 = (y.index[i].date() for i in (1199, 1202, 1209))
    assert update_all(store, settings, d1)[0].status == "cold"
    assert update_all(store, settings, d2)[0].status == "filter"  # 3 business days < 5
    s3 = update_all(store, settings, d3)[0]
    assert s3.status == "warm" and "refit due" in s3.message
    run3 = latest_run(store, "sim", d3)
    assert run3.kind == "warm" and run3.base_run_id is None and run3.n == 1210
    assert len(regime_state(store, settings, d3, "sim").frame()) == 1210
    # a warm refit on data now dominated by a stretch with no persistence: rejected, the earlier
    # parameters are kept and the run is flagged
    rng = np.random.default_rng(5)
    noise = pd.Series(np.where(rng.random(2500) < 0.3, 3.0, 0.5) * rng.standard_normal(2500),
                      index=pd.bdate_range(y.index[-1] + pd.offsets.BDay(1), periods=2500, name="date"))
    write_sim(store, noise)
    d4 = noise.index[-1].date()
    s4 = update_model(store, settings, get_spec(settings, "sim"), d4, force="warm")
    run4 = latest_run(store, "sim", d4)
    assert s4.status == "warm" and s4.fallback and "kept earlier accepted parameters" in s4.message
    assert run4.fallback and not run4.converged and run4.accepted
    assert run4.params == run3.params and run4.n == len(y) + 2500
    assert any("< 0.5" in r for r in run4.reasons)


def test_skipped_model_when_its_series_is_missing(tmp_path, store):
    out = update_all(store, sim_settings(tmp_path), dt.date(2024, 1, 10))
    assert out[0].status == "skipped" and "0 observations of sim.x" in out[0].message


def test_store_filtered_probabilities_known_on_their_own_dates(tmp_path, store):
    days = pd.bdate_range("2022-02-01", periods=6)
    probs = pd.Series([0.1, 0.2, 0.9, 0.95, 0.4, 0.1], index=days)
    store_filtered_probabilities(store, "planted", probs)
    frame = regime_state(store, settings_for(tmp_path), days[3].date(), "planted").frame()
    assert list(frame["date"]) == list(days[:4])
    np.testing.assert_allclose(frame["p_stress_filtered"], [0.1, 0.2, 0.9, 0.95])
    assert latest_run(store, "planted", days[5].date()).n == 6


def test_computing_an_earlier_date_keeps_the_runs_of_later_dates(tmp_path, store, sim2):
    """Reports of later dates read their own runs; a run made afterwards for an earlier date must
    not remove them (the report for a later date would lose its headline)."""
    settings = sim_settings(tmp_path)
    y = sim2[0]
    write_sim(store, y)
    late = y.index[1299].date()
    early = y.index[1199].date()
    update_all(store, settings, late)
    late_run = latest_run(store, "sim", late)
    late_probs = regime_state(store, settings, late, "sim").frame()
    update_all(store, settings, early)
    assert latest_run(store, "sim", early).asof == early
    again = latest_run(store, "sim", late)
    assert again.id == late_run.id
    # issue 11: the one row that changes is the early date's, which now shows what the model said
    # on that date (the early run's answer, basis real-time) instead of the late fit's hindsight value
    now = regime_state(store, settings, late, "sim").frame()
    at_early = now["date"] == pd.Timestamp(early)
    assert list(late_probs.loc[at_early, "basis"]) == ["hindsight"] and list(now.loc[at_early, "basis"]) == ["real-time"]
    early_answer = regime_state(store, settings, early, "sim").frame().iloc[-1]
    assert now.loc[at_early, "p_stress_filtered"].item() == early_answer["p_stress_filtered"]
    pd.testing.assert_frame_equal(now[~at_early], late_probs[~at_early])


def test_a_filter_only_day_does_not_import_statsmodels(tmp_path, store, sim2):
    """Issue 12 (owned with issue 11): statsmodels is imported only when a fit is actually due."""
    import subprocess
    import sys
    import textwrap

    settings = sim_settings(tmp_path)
    y = sim2[0].iloc[:1210]
    write_sim(store, y)
    d1, d2, d3 = (y.index[i].date() for i in (1199, 1200, 1209))
    assert update_all(store, settings, d1)[0].status == "cold"
    store.close()
    code = textwrap.dedent(f"""
        import sys
        from stresswatch.regimes.update import update_all
        from stresswatch.store import Store
        from tests.regimes.simulated import sim_settings
        from pathlib import Path
        store = Store.open(Path({str(tmp_path / "sw.db")!r}))
        settings = sim_settings(Path({str(tmp_path)!r}))
        out = [update_all(store, settings, day)[0].status for day in ("{d2}", "{d3}")]
        print(out, any(m.startswith("statsmodels") for m in sys.modules))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['filter', 'filter'] False"
