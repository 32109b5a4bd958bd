"""Fitting with statsmodels: simulated regimes recovered, relabelling, degenerate-fit fallback, the
Hamilton (1989) result through our wrapper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stresswatch.errors import ModelError
from stresswatch.regimes.fit import evaluate, fit_robust
from stresswatch.regimes.matrices import (
    _regime_values,
    permute_params,
    relabel_order,
)
from stresswatch.regimes.spec import (
    RegimeSpec,
)
from tests.regimes.simulated import (
    FAST,
    P2,
    as_series,
    simulate,
    statsmodels_test_data,
)


def test_fit_recovers_simulated_variance_regimes(fit2, sim2):
    _, states = sim2
    assert fit2.accepted and fit2.converged and not fit2.fallback
    accuracy = np.mean(fit2.smoothed.argmax(axis=1) == states)
    assert accuracy > 0.95
    sigma2 = _regime_values(fit2.params, fit2.param_names, "sigma2", 2)
    np.testing.assert_allclose(sigma2, [0.25, 4.0], rtol=0.25)
    np.testing.assert_allclose(np.diag(fit2.transition), [0.99, 0.97], atol=0.02)
    # filtered probabilities use only data up to t: the last filtered and smoothed rows coincide
    np.testing.assert_allclose(fit2.filtered[-1], fit2.smoothed[-1], atol=1e-10)
    assert fit2.aic == pytest.approx(-2 * fit2.llf + 2 * len(fit2.params))


def test_three_regimes_recovered_and_ordered_calm_to_stress():
    P = np.array([[0.98, 0.02, 0.00], [0.02, 0.96, 0.10], [0.00, 0.02, 0.90]])
    y, states = simulate(1500, P, [0.0, 0.0, 0.2], [0.2, 0.7, 2.5], seed=11)
    spec = RegimeSpec(id="sim3", series="sim.x", transform="level", k_regimes=3)
    out = fit_robust(as_series(y), spec, **FAST)
    sigma2 = _regime_values(out.params, out.param_names, "sigma2", 3)
    assert list(sigma2) == sorted(sigma2)
    # against the variance of the draws actually made in each true regime (the sampling noise of
    # a rare regime is not the estimator's fault)
    drawn = [np.var(y[states == i]) for i in range(3)]
    np.testing.assert_allclose(sigma2, drawn, rtol=0.25)
    assert np.mean(out.smoothed.argmax(axis=1) == states) > 0.9
    assert out.frame()["regime"].isin(["calm", "elevated", "stress"]).all()


def test_relabelling_puts_stress_last_whatever_the_optimiser_order(fit2, sim2, spec2):
    names = fit2.param_names
    swapped = permute_params(fit2.params, names, 2, [1, 0])
    assert _regime_values(swapped, names, "sigma2", 2)[0] > _regime_values(swapped, names, "sigma2", 2)[1]
    order = relabel_order(swapped, names, 2)
    assert order == [1, 0]
    np.testing.assert_allclose(permute_params(swapped, names, 2, order), fit2.params)
    # the probabilities follow the labels: evaluating the swapped parameters swaps the columns
    ev = evaluate(sim2[0], spec2, swapped)
    np.testing.assert_allclose(ev.smoothed[:, ::-1], fit2.smoothed, atol=1e-8)
    # a series that starts in the stress regime still gets stress as the last label, and the
    # mapping from optimiser labels is recorded
    y, states = simulate(1500, P2, [0.0, 0.0], [0.5, 2.0], seed=3, start_state=1)
    out = fit_robust(as_series(y), spec2, **FAST)
    assert sorted(out.mapping) == [0, 1]
    assert np.mean(out.smoothed.argmax(axis=1) == states) > 0.95


def test_degenerate_fit_is_rejected_and_falls_back_to_previous_parameters(fit2, spec2):
    # an i.i.d. mixture has no persistence: the maximum-likelihood "regime" lasts ~1 period
    rng = np.random.default_rng(5)
    wild = rng.random(1200) < 0.3
    y = as_series(np.where(wild, 3.0, 0.5) * rng.standard_normal(1200))
    with pytest.raises(ModelError, match="no acceptable fit.*< 0.5"):
        fit_robust(y, spec2, **FAST)
    out = fit_robust(y, spec2, previous=fit2.params, **FAST)
    assert out.fallback and out.accepted and not out.converged
    np.testing.assert_allclose(out.params, fit2.params)
    assert any("< 0.5" in r for r in out.reasons)
    assert out.nobs == len(y)


def test_too_few_observations_is_a_model_error(spec2):
    with pytest.raises(ModelError, match="need at least 60"):
        fit_robust(as_series(np.arange(20.0)), spec2)


@pytest.mark.slow
def test_hamilton_1989_reproduced_through_the_wrapper():
    rgnp = statsmodels_test_data("test_markov_autoregression", "rgnp")

    y = pd.Series(rgnp, index=pd.date_range("1951-04-01", periods=len(rgnp), freq="QS", name="date"))
    spec = RegimeSpec(id="hamilton", series="gnp", transform="level", k_regimes=2, switching_mean=True,
                        switching_variance=False, order=4)
    out = fit_robust(y, spec, search_reps=20, seeds=(1, 2, 3))
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


def test_forecast_of_a_fit_uses_its_transition_and_last_filtered_probabilities(fit2):
    P = fit2.transition
    expected = fit2.filtered[-1]
    for _ in range(3):
        expected = P @ expected
    np.testing.assert_allclose(fit2.forecast(3), expected)
    np.testing.assert_allclose(P.sum(axis=0), [1.0, 1.0])
