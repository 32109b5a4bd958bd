"""Regime models: real statsmodels fits on simulated series with known regimes, the Hamilton (1989)
result through our wrapper, relabelling, degenerate-fit fallback, forecasts, storage with the real
Store, daily filter-only updates and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest

from stresswatch import regimes as R
from stresswatch.cli import main
from stresswatch.errors import ConfigError, ModelError
from stresswatch.fetchers.base import Observation, SeriesInfo
from tests.conftest import settings_for

FAST = {"search_reps": 4, "seeds": (1, 2)}


def simulate(n: int, P: np.ndarray, means, sigmas, seed: int, start_state: int = 0):
    """Markov chain (column-stochastic P) and Gaussian draws; returns (values, states)."""
    rng = np.random.default_rng(seed)
    k = len(means)
    states = np.empty(n, dtype=int)
    s = start_state
    for t in range(n):
        s = rng.choice(k, p=P[:, s]) if t else s
        states[t] = s
    y = np.asarray(means)[states] + np.asarray(sigmas)[states] * rng.standard_normal(n)
    return y, states


def statsmodels_test_data(module: str, name: str) -> list[float]:
    """A data list shipped in statsmodels' regime-switching test modules, read without importing
    the module (importing it registers pytest marks our --strict-markers run rejects)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(f"statsmodels.tsa.regime_switching.tests.{module}")
    if spec is None or spec.origin is None:
        pytest.skip("statsmodels test modules are not installed")
    tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return list(ast.literal_eval(node.value))
    pytest.skip(f"{name} not found in {spec.origin}")


def as_series(values, start="2010-01-04", name="sim") -> pd.Series:
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values), name="date"), name=name)


P2 = np.array([[0.99, 0.03], [0.01, 0.97]])  # stay 0.99 calm / 0.97 stress


@pytest.fixture(scope="module")
def sim2():
    y, states = simulate(1500, P2, [0.0, 0.0], [0.5, 2.0], seed=7)
    return as_series(y), states


@pytest.fixture(scope="module")
def spec2():
    return R.RegimeSpec(id="sim", series="sim.x", transform="level", k_regimes=2, switching_mean=False)


@pytest.fixture(scope="module")
def fit2(sim2, spec2):
    return R.fit_robust(sim2[0], spec2, **FAST)


# ---------------------------------------------------------------------------------------------
# fitting on simulated series
# ---------------------------------------------------------------------------------------------
def test_fit_recovers_simulated_variance_regimes(fit2, sim2):
    _, states = sim2
    assert fit2.accepted and fit2.converged and not fit2.fallback
    accuracy = np.mean(fit2.smoothed.argmax(axis=1) == states)
    assert accuracy > 0.95
    sigma2 = R._regime_values(fit2.params, fit2.param_names, "sigma2", 2)
    np.testing.assert_allclose(sigma2, [0.25, 4.0], rtol=0.25)
    np.testing.assert_allclose(np.diag(fit2.transition), [0.99, 0.97], atol=0.02)
    # filtered probabilities use only data up to t: the last filtered and smoothed rows coincide
    np.testing.assert_allclose(fit2.filtered[-1], fit2.smoothed[-1], atol=1e-10)
    assert fit2.aic == pytest.approx(-2 * fit2.llf + 2 * len(fit2.params))


def test_three_regimes_recovered_and_ordered_calm_to_stress():
    P = np.array([[0.98, 0.02, 0.00], [0.02, 0.96, 0.10], [0.00, 0.02, 0.90]])
    y, states = simulate(1500, P, [0.0, 0.0, 0.2], [0.2, 0.7, 2.5], seed=11)
    spec = R.RegimeSpec(id="sim3", series="sim.x", transform="level", k_regimes=3)
    out = R.fit_robust(as_series(y), spec, **FAST)
    sigma2 = R._regime_values(out.params, out.param_names, "sigma2", 3)
    assert list(sigma2) == sorted(sigma2)
    # against the variance of the draws actually made in each true regime (the sampling noise of
    # a rare regime is not the estimator's fault)
    drawn = [np.var(y[states == i]) for i in range(3)]
    np.testing.assert_allclose(sigma2, drawn, rtol=0.25)
    assert np.mean(out.smoothed.argmax(axis=1) == states) > 0.9
    assert out.frame()["regime"].isin(["calm", "elevated", "stress"]).all()


def test_relabelling_puts_stress_last_whatever_the_optimiser_order(fit2, sim2, spec2):
    names = fit2.param_names
    swapped = R.permute_params(fit2.params, names, 2, [1, 0])
    assert R._regime_values(swapped, names, "sigma2", 2)[0] > R._regime_values(swapped, names, "sigma2", 2)[1]
    order = R.relabel_order(swapped, names, 2)
    assert order == [1, 0]
    np.testing.assert_allclose(R.permute_params(swapped, names, 2, order), fit2.params)
    # the probabilities follow the labels: evaluating the swapped parameters swaps the columns
    ev = R.evaluate(sim2[0], spec2, swapped)
    np.testing.assert_allclose(ev.smoothed[:, ::-1], fit2.smoothed, atol=1e-8)
    # a series that starts in the stress regime still gets stress as the last label, and the
    # mapping from optimiser labels is recorded
    y, states = simulate(1500, P2, [0.0, 0.0], [0.5, 2.0], seed=3, start_state=1)
    out = R.fit_robust(as_series(y), spec2, **FAST)
    assert sorted(out.mapping) == [0, 1]
    assert np.mean(out.smoothed.argmax(axis=1) == states) > 0.95


def test_permute_params_moves_transition_rows_and_columns():
    names = ["p[0->0]", "p[1->0]", "p[2->0]", "p[0->1]", "p[1->1]", "p[2->1]",
             "const[0]", "const[1]", "const[2]", "sigma2[0]", "sigma2[1]", "sigma2[2]"]
    P = np.array([[0.9, 0.2, 0.1], [0.05, 0.7, 0.3], [0.05, 0.1, 0.6]])
    params = np.zeros(12)
    for j in range(2):
        for i in range(3):
            params[j * 3 + i] = P[j, i]
    params[6:9] = [1.0, 2.0, 3.0]
    params[9:12] = [5.0, 0.1, 1.0]
    order = R.relabel_order(params, names, 3)
    assert order == [1, 2, 0]  # by variance: 0.1, 1.0, 5.0
    new = R.permute_params(params, names, 3, order)
    np.testing.assert_allclose(R.transition_matrix(new, names, 3), P[np.ix_(order, order)])
    np.testing.assert_allclose(new[6:9], [2.0, 3.0, 1.0])
    np.testing.assert_allclose(new[9:12], [0.1, 1.0, 5.0])


def test_degenerate_fit_is_rejected_and_falls_back_to_previous_parameters(fit2, spec2):
    # an i.i.d. mixture has no persistence: the maximum-likelihood "regime" lasts ~1 period
    rng = np.random.default_rng(5)
    wild = rng.random(1200) < 0.3
    y = as_series(np.where(wild, 3.0, 0.5) * rng.standard_normal(1200))
    with pytest.raises(ModelError, match="no acceptable fit.*< 0.5"):
        R.fit_robust(y, spec2, **FAST)
    out = R.fit_robust(y, spec2, previous=fit2.params, **FAST)
    assert out.fallback and out.accepted and not out.converged
    np.testing.assert_allclose(out.params, fit2.params)
    assert any("< 0.5" in r for r in out.reasons)
    assert out.nobs == len(y)


def test_degenerate_reasons():
    names = ["p[0->0]", "p[1->0]", "const", "sigma2[0]", "sigma2[1]"]
    assert R.degenerate_reasons(np.array([0.95, 0.1, 0.0, 1.0, 4.0]), names, 2) == []
    reasons = R.degenerate_reasons(np.array([0.95, 0.6, 0.0, 1.0, 4.0]), names, 2)
    assert len(reasons) == 1 and "p[1->1] = 0.400" in reasons[0] and "< 2 periods" in reasons[0]
    assert R.degenerate_reasons(np.array([0.95, 0.1, 0.0, 0.0, 4.0]), names, 2) == ["a regime variance collapsed to zero"]
    assert R.degenerate_reasons(np.array([np.nan, 0.1, 0.0, 1.0, 4.0]), names, 2) == ["non-finite parameters"]


def test_too_few_observations_is_a_model_error(spec2):
    with pytest.raises(ModelError, match="need at least 60"):
        R.fit_robust(as_series(np.arange(20.0)), spec2)


@pytest.mark.slow
def test_hamilton_1989_reproduced_through_the_wrapper():
    rgnp = statsmodels_test_data("test_markov_autoregression", "rgnp")

    y = pd.Series(rgnp, index=pd.date_range("1951-04-01", periods=len(rgnp), freq="QS", name="date"))
    spec = R.RegimeSpec(id="hamilton", series="gnp", transform="level", k_regimes=2, switching_mean=True,
                        switching_variance=False, order=4)
    out = R.fit_robust(y, spec, search_reps=20, seeds=(1, 2, 3))
    assert out.llf == pytest.approx(-181.26339, abs=1e-3)
    assert out.converged and out.accepted and not out.fallback
    p = dict(zip(out.param_names, out.params))
    # equal variances, so the labels are ordered by mean: recession (regime 0) first
    assert p["const[0]"] == pytest.approx(-0.358811, abs=5e-3)
    assert p["const[1]"] == pytest.approx(1.163516, abs=5e-3)
    assert p["p[0->0]"] == pytest.approx(0.754673, abs=5e-3)
    assert p["p[1->0]"] == pytest.approx(0.095915, abs=5e-3)
    np.testing.assert_allclose(out.expected_durations, [4.08, 10.43], atol=0.05)
    assert out.nobs == len(y) - 4  # four lags are lost
    assert out.dates[0] == y.index[4]


# ---------------------------------------------------------------------------------------------
# forecast, episodes, transforms, specs
# ---------------------------------------------------------------------------------------------
def test_forecast_is_p_power_h_times_filtered_probabilities():
    P = np.array([[0.9, 0.2], [0.1, 0.8]])  # column-stochastic
    pi = np.array([0.3, 0.7])
    np.testing.assert_allclose(R.forecast_probabilities(P, pi, 0), [0.3, 0.7])
    # by hand: P pi = (0.27 + 0.14, 0.03 + 0.56) = (0.41, 0.59)
    np.testing.assert_allclose(R.forecast_probabilities(P, pi, 1), [0.41, 0.59])
    # P (0.41, 0.59) = (0.369 + 0.118, 0.041 + 0.472) = (0.487, 0.513)
    np.testing.assert_allclose(R.forecast_probabilities(P, pi, 2), [0.487, 0.513])
    # long horizon: the ergodic distribution (0.2 / 0.3, 0.1 / 0.3) = (2/3, 1/3)
    np.testing.assert_allclose(R.forecast_probabilities(P, pi, 500), [2 / 3, 1 / 3])


def test_forecast_of_a_fit_uses_its_transition_and_last_filtered_probabilities(fit2):
    P = fit2.transition
    expected = fit2.filtered[-1]
    for _ in range(3):
        expected = P @ expected
    np.testing.assert_allclose(R.forecast(fit2, 3), expected)
    np.testing.assert_allclose(P.sum(axis=0), [1.0, 1.0])


def test_find_episodes_merges_gaps_and_drops_short_runs():
    days = pd.bdate_range("2022-01-03", periods=30)
    p = np.zeros(30)
    p[2:6] = 0.9  # 4 periods
    p[8:10] = 0.8  # gap of 2 -> merged with the first
    p[15:17] = 0.95  # 2 periods, alone -> dropped with min_length 3
    p[20:26] = [0.6, 0.7, 0.99, 0.7, 0.6, 0.55]
    eps = R.find_episodes(pd.Series(p, index=days), threshold=0.5, min_length=3, merge_gap=2)
    assert [(e["start"], e["end"], e["length"]) for e in eps] == [
        (days[2].date(), days[9].date(), 8), (days[20].date(), days[25].date(), 6)]
    assert eps[1]["peak"] == days[22].date() and eps[1]["peak_p"] == pytest.approx(0.99)
    assert R.find_episodes(pd.Series(p, index=days), min_length=3, merge_gap=1)[0]["end"] == days[5].date()


def test_transform_uses_the_series_own_observation_calendar():
    # CBR-like: no Sunday/Monday rows, a Saturday row
    dates = pd.to_datetime(["2023-08-08", "2023-08-09", "2023-08-10", "2023-08-11", "2023-08-12",
                            "2023-08-15", "2023-08-16"])
    x = pd.Series([95.0, 96.0, 97.0, 97.0, 98.0, 101.04, 97.0], index=dates)
    spec = R.RegimeSpec(id="r", series="cbr.fx.USD", transform="logret", k_regimes=2)
    y = R.transform(x, spec)
    assert list(y.index) == list(dates[1:])
    assert y.loc["2023-08-15"] == pytest.approx(100 * np.log(101.04 / 98.0))  # across the gap, one return
    assert (y == 0).sum() == 1  # only the real unchanged fixing
    absr = R.transform(x, R.RegimeSpec(id="a", series="s", transform="abs_logret"))
    np.testing.assert_allclose(absr.to_numpy(), np.abs(y.to_numpy()))
    weekly = R.transform(x, R.RegimeSpec(id="w", series="s", transform="logret", frequency="W"))
    # weeks end Friday: 2023-08-11 (last obs of its week), then 2023-08-16 (week in progress, own date)
    assert list(weekly.index) == [pd.Timestamp("2023-08-16")]
    assert weekly.iloc[0] == pytest.approx(100 * np.log(97.0 / 97.0))
    with pytest.raises(ModelError, match="non-positive"):
        R.transform(pd.Series([1.0, -1.0], index=dates[:2]), spec)
    late = R.transform(x, R.RegimeSpec(id="s", series="s", transform="level", start=dt.date(2023, 8, 12)))
    assert late.index[0] == pd.Timestamp("2023-08-12")


def test_specs_from_settings_defaults_custom_and_errors(tmp_path):
    specs = R.specs_from_settings(settings_for(tmp_path))
    ids = [s.id for s in specs]
    assert {"ruble3", "ruble3d", "stress"} <= set(ids)
    by_id = {s.id: s for s in specs}
    assert by_id["stress"].series == "stress.index" and by_id["stress"].k_regimes == 2
    assert by_id["ruble3"].k_regimes == 3 and by_id["ruble3"].series == "cbr.fx.USD"
    assert settings_for(tmp_path)["regimes"]["headline"] == "auto" and set(R.AUTO_HEADLINE) <= set(ids)
    custom = settings_for(tmp_path, **{"regimes.models": [{"id": "x", "series": "s.x", "k_regimes": 3}]})
    assert [s.id for s in R.specs_from_settings(custom)] == ["x"]
    dup = settings_for(tmp_path, **{"regimes.models": [{"id": "x", "series": "a"}, {"id": "x", "series": "b"}]})
    with pytest.raises(ConfigError, match="appears twice"):
        R.specs_from_settings(dup)
    with pytest.raises(ConfigError, match="unknown regime model 'nope'"):
        R.get_spec(custom, "nope")
    with pytest.raises(ValueError, match="at least one of switching_mean"):
        R.RegimeSpec(id="x", series="s", switching_mean=False, switching_variance=False)


# ---------------------------------------------------------------------------------------------
# storage with the real Store, daily updates, as-of semantics
# ---------------------------------------------------------------------------------------------
SIM_MODEL = {"id": "sim", "series": "sim.x", "transform": "level", "k_regimes": 2, "switching_mean": False,
             "switching_variance": True, "start": dt.date(2000, 1, 1)}


def _settings(tmp_path, **extra):
    return settings_for(tmp_path, **{"regimes.models": [SIM_MODEL], "regimes.search_reps": 4,
                                     "regimes.seeds": [1, 2], **extra})


def _write(store, series: pd.Series, fetched=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)):
    store.observations.upsert_series([SeriesInfo("sim.x", "sim", "simulated", "x", "D")])
    store.observations.write_observations([Observation("sim.x", d.date(), float(v)) for d, v in series.items()],
                                          fetched_at=fetched)


def test_storage_round_trip_filter_update_and_asof(tmp_path, store, sim2):
    settings = _settings(tmp_path)
    y = sim2[0]
    _write(store, y)
    d1 = y.index[1199].date()
    d2 = y.index[1209].date()
    s1 = R.update_all(store, settings, d1)
    assert [(s.model_id, s.status) for s in s1] == [("sim", "cold")]
    run1 = R.latest_run(store, "sim", d1)
    assert run1.kind == "cold" and run1.n == 1200 and run1.data_last == d1 and run1.data_vintage == d1
    assert run1.spec.to_json()["id"] == "sim" and run1.converged and run1.accepted

    fit = R.fit_robust(y.iloc[:1200], R.get_spec(settings, "sim"), search_reps=4, seeds=(1, 2))
    np.testing.assert_allclose(run1.param_vector, fit.params, rtol=1e-8)
    probs1 = R.probabilities(store, "sim", d1)
    assert list(probs1.columns) == ["date", "regime", "p_stress_filtered", "p_stress_smoothed"]
    np.testing.assert_allclose(probs1["p_stress_smoothed"], fit.smoothed[:, 1], atol=1e-12)
    np.testing.assert_allclose(probs1["p_stress_filtered"], fit.filtered[:, 1], atol=1e-12)

    # rerunning the same asof with the same data does nothing
    assert R.update_all(store, settings, d1)[0].status == "existing"

    # ten days later: filter-only with the stored parameters, only new or changed rows stored
    s2 = R.update_all(store, settings, d2)[0]
    assert s2.status == "filter"
    run2 = R.latest_run(store, "sim", d2)
    assert run2.kind == "filter" and run2.fit_run_id == run1.id and run2.params == run1.params
    own_rows = len(store.model_runs.probabilities(run2.id, run2.spec.k_regimes))
    assert 10 <= own_rows < 200
    full = R.probabilities(store, "sim", d2, full=True)
    expected = R.evaluate(y.iloc[:1210], R.get_spec(settings, "sim"), run1.param_vector)
    assert len(full) == 1210
    # rows within PROB_TOL of the base run are read from the base run
    np.testing.assert_allclose(full["p_smoothed_1"], expected.smoothed[:, 1], atol=R.PROB_TOL)
    np.testing.assert_allclose(full["p_filtered_0"], expected.filtered[:, 0], atol=R.PROB_TOL)
    # filtered values of old dates are unchanged by the update (real-time values never move)
    np.testing.assert_allclose(full["p_stress_filtered"][:1200], probs1["p_stress_filtered"], atol=R.PROB_TOL)

    # as of: a date between the runs reads the first run; before any run there is nothing
    assert R.latest_run(store, "sim", y.index[1205].date()).id == run1.id
    assert R.latest_run(store, "sim", y.index[100].date()) is None
    assert R.probabilities(store, "sim", y.index[100].date()).empty

    summary = R.summary(store, "sim", d2)
    assert summary["fit_run_id"] == run1.id and summary["kind"] == "filter"
    np.testing.assert_allclose(list(summary["forecast"][5].values()), R.forecast(run2, 5))
    assert summary["expected_durations"]["stress"] == pytest.approx(1 / (1 - run1.transition[1, 1]))


def test_no_look_ahead_values_known_later_are_not_used(tmp_path, store, sim2):
    settings = _settings(tmp_path)
    y = sim2[0].iloc[:1000]
    _write(store, y)
    asof = y.index[899].date()
    # a revision of an early value published after `asof` must not change the run for `asof`
    late = dt.datetime.combine(y.index[950].date(), dt.time(12), tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("sim.x", y.index[10].date(), 99.0)], fetched_at=late)
    R.update_all(store, settings, asof)
    run = R.latest_run(store, "sim", asof)
    assert run.n == 900 and run.data_last == asof
    clean = R.fit_robust(y.iloc[:900], R.get_spec(settings, "sim"), search_reps=4, seeds=(1, 2))
    assert run.llf == pytest.approx(clean.llf, abs=1e-6)


def test_refit_is_warm_when_due_and_flags_fallback(tmp_path, store, sim2):
    settings = _settings(tmp_path, **{"regimes.refit_every": 5})
    y = sim2[0]
    _write(store, y)
    d1, d2, d3 = (y.index[i].date() for i in (1199, 1202, 1209))
    assert R.update_all(store, settings, d1)[0].status == "cold"
    assert R.update_all(store, settings, d2)[0].status == "filter"  # 3 business days < 5
    s3 = R.update_all(store, settings, d3)[0]
    assert s3.status == "warm" and "refit due" in s3.message
    run3 = R.latest_run(store, "sim", d3)
    assert run3.kind == "warm" and run3.base_run_id is None and run3.n == 1210
    assert len(R.probabilities(store, "sim", d3)) == 1210
    # a warm refit on data now dominated by a stretch with no persistence: rejected, the earlier
    # parameters are kept and the run is flagged
    rng = np.random.default_rng(5)
    noise = pd.Series(np.where(rng.random(2500) < 0.3, 3.0, 0.5) * rng.standard_normal(2500),
                      index=pd.bdate_range(y.index[-1] + pd.offsets.BDay(1), periods=2500, name="date"))
    _write(store, noise)
    d4 = noise.index[-1].date()
    s4 = R.update_model(store, settings, R.get_spec(settings, "sim"), d4, force="warm")
    run4 = R.latest_run(store, "sim", d4)
    assert s4.status == "warm" and s4.fallback and "kept earlier accepted parameters" in s4.message
    assert run4.fallback and not run4.converged and run4.accepted
    assert run4.params == run3.params and run4.n == len(y) + 2500
    assert any("< 0.5" in r for r in run4.reasons)


def test_skipped_model_when_its_series_is_missing(tmp_path, store):
    out = R.update_all(store, _settings(tmp_path), dt.date(2024, 1, 10))
    assert out[0].status == "skipped" and "0 observations of sim.x" in out[0].message


def test_store_filtered_probabilities_known_on_their_own_dates(store):
    days = pd.bdate_range("2022-02-01", periods=6)
    probs = pd.Series([0.1, 0.2, 0.9, 0.95, 0.4, 0.1], index=days)
    R.store_filtered_probabilities(store, "planted", probs)
    frame = R.read_probabilities(store, "planted", days[3].date())
    assert list(frame["date"]) == list(days[:4])
    np.testing.assert_allclose(frame["p_stress_filtered"], [0.1, 0.2, 0.9, 0.95])
    assert R.latest_run(store, "planted", days[5].date()).n == 6


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------
def _cli(tmp_path, *args):
    cfg = tmp_path / "sw.toml"
    cfg.write_text('[regimes]\nheadline = "sim"\nsearch_reps = 4\nseeds = [1, 2]\n'
                   '[[regimes.models]]\nid = "sim"\nseries = "sim.x"\ntransform = "level"\n'
                   'k_regimes = 2\nswitching_mean = false\nstart = 2000-01-01\n')
    out = io.StringIO()
    rc = main(["--config", str(cfg), "--store", str(tmp_path / "sw.db"), *args], out=out)
    return rc, out.getvalue()


def test_cli_show_episodes_summary(tmp_path, store, sim2, capsys):
    y = sim2[0].iloc[:1200]
    _write(store, y)
    asof = y.index[-1].date().isoformat()
    store.close()
    rc, _ = _cli(tmp_path, "regimes", "show", "--asof", asof, "--format", "csv")
    assert rc == 1 and "stresswatch compute --asof" in capsys.readouterr().err
    rc, text = _cli(tmp_path, "regimes", "show", "--fit", "--asof", asof, "--start", "2014-01-01", "--format", "csv")
    assert rc == 0
    lines = text.strip().splitlines()
    assert lines[0] == "date,regime,p_stress_filtered,p_stress_smoothed"
    first = lines[1].split(",")
    assert first[0] >= "2014-01-01" and first[1] in ("calm", "stress") and 0 <= float(first[2]) <= 1
    assert lines[-1].startswith(asof)

    rc, text = _cli(tmp_path, "regimes", "episodes", "--asof", asof, "--format", "json")
    assert rc == 0
    eps = json.loads(text)
    assert eps and set(eps[0]) == {"start", "end", "peak", "peak_p", "mean_p", "length"}
    assert all(e["length"] >= 3 for e in eps)

    rc, text = _cli(tmp_path, "regimes", "summary", "--asof", asof, "--format", "json")
    info = json.loads(text)
    assert rc == 0 and info["model_id"] == "sim" and info["converged"] is True
    assert set(info["forecast"]) == {"1", "5", "20"}
    assert sum(info["forecast"]["5"].values()) == pytest.approx(1.0)

    rc, text = _cli(tmp_path, "regimes", "summary", "--asof", asof)
    assert rc == 0 and "expected duration stress (periods)" in text and "forecast h=20: P(stress)" in text

    rc, text = _cli(tmp_path, "regimes", "runs", "--format", "csv")
    assert rc == 0 and text.splitlines()[1].startswith(f"{asof},cold,{asof},1200")

    rc, _ = _cli(tmp_path, "regimes", "show", "--model", "nope")
    assert rc == 2 and "configured models: sim" in capsys.readouterr().err


def test_computing_an_earlier_date_keeps_the_runs_of_later_dates(tmp_path, store, sim2):
    """Reports of later dates read their own runs; a run made afterwards for an earlier date must
    not remove them (the report for a later date would lose its headline)."""
    settings = _settings(tmp_path)
    y = sim2[0]
    _write(store, y)
    late = y.index[1299].date()
    early = y.index[1199].date()
    R.update_all(store, settings, late)
    late_run = R.latest_run(store, "sim", late)
    late_probs = R.probabilities(store, "sim", late)
    R.update_all(store, settings, early)
    assert R.latest_run(store, "sim", early).asof == early
    again = R.latest_run(store, "sim", late)
    assert again.id == late_run.id
    pd.testing.assert_frame_equal(R.probabilities(store, "sim", late), late_probs)


def test_auto_headline_follows_the_exchange_rate_eras_in_the_store(tmp_path, store):
    """ruble3 needs the managed era to spend its calm regime on; a store backfilled only from 2013
    gets the floating-era ruble2f. A named headline is used as it is."""
    settings = settings_for(tmp_path)
    assert R.headline(store, settings) == "ruble3"  # no data yet: the full-history model
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB per 1 USD", "D")])
    fetched = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2013, 1, 10), 30.5)], fetched_at=fetched)
    assert R.headline(store, settings) == "ruble2f"
    store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2005, 1, 11), 28.0)], fetched_at=fetched)
    assert R.headline(store, settings) == "ruble3"
    assert R.headline(store, settings, asof=dt.date(2004, 12, 31)) == "ruble3"  # nothing known yet
    named = settings_for(tmp_path, **{"regimes.headline": "stress"})
    assert R.headline(store, named) == "stress"
    custom = settings_for(tmp_path, **{"regimes.models": [{"id": "eur", "series": "cbr.fx.EUR"}]})
    assert R.headline(store, custom) == "eur"
