"""The numpy Hamilton filter and Kim smoother (regimes/filtering.py) against statsmodels, and the
exact continuation of a filter from its last filtered probabilities."""

from __future__ import annotations

import numpy as np

from stresswatch.regimes.filtering import filter_from, smooth
from stresswatch.regimes.fit import evaluate
from stresswatch.regimes.refits import filter_with_statsmodels
from stresswatch.regimes.spec import RegimeSpec

TOL = 1e-12


def test_filter_and_smoother_equal_statsmodels(fit2, sim2, spec2):
    y = sim2[0].to_numpy()
    filtered, smoothed, llf = smooth(spec2, fit2.params, fit2.param_names, y)
    expected = evaluate(sim2[0], spec2, fit2.params)
    np.testing.assert_allclose(filtered, expected.filtered, atol=TOL)
    np.testing.assert_allclose(smoothed, expected.smoothed, atol=TOL)
    assert llf == expected.llf or abs(llf - expected.llf) < 1e-8
    sm_filtered, sm_ll = filter_with_statsmodels(spec2, fit2.params, y)
    np.testing.assert_allclose(filter_from(spec2, fit2.params, fit2.param_names, y)[0], sm_filtered, atol=TOL)
    np.testing.assert_allclose(filter_from(spec2, fit2.params, fit2.param_names, y)[1], sm_ll, atol=1e-9)


def test_a_filter_continued_from_its_last_row_equals_one_pass(fit2, sim2, spec2):
    """What the daily update does: filter the new rows from yesterday's filtered probabilities."""
    y = sim2[0].to_numpy()
    whole, ll_whole = filter_from(spec2, fit2.params, fit2.param_names, y)
    for split in (1, 250, 777, len(y) - 1):
        head, ll_head = filter_from(spec2, fit2.params, fit2.param_names, y[:split])
        tail, ll_tail = filter_from(spec2, fit2.params, fit2.param_names, y[split:], head[-1])
        np.testing.assert_allclose(np.vstack([head, tail]), whole, atol=TOL)
        np.testing.assert_allclose(np.concatenate([ll_head, ll_tail]), ll_whole, atol=TOL)


def test_zero_mean_model_as_the_headline_is_filtered_like_statsmodels(sim2):
    spec = RegimeSpec(id="z", series="s", transform="level", k_regimes=2, trend="n", switching_mean=False)
    names = ("p[0->0]", "p[1->0]", "sigma2[0]", "sigma2[1]")
    params = np.array([0.97, 0.05, 0.3, 4.0])
    y = sim2[0].to_numpy()
    from stresswatch.regimes.refits import param_names

    assert param_names(spec) == names
    sm_filtered, _ = filter_with_statsmodels(spec, params, y)
    np.testing.assert_allclose(filter_from(spec, params, names, y)[0], sm_filtered, atol=TOL)
