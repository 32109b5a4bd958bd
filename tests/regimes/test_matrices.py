"""Parameter arithmetic: permutation, degeneracy checks, h-step forecasts."""

from __future__ import annotations

import numpy as np

from stresswatch.regimes.matrices import (
    degenerate_reasons,
    forecast_probabilities,
    permute_params,
    relabel_order,
    transition_matrix,
)


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
    order = relabel_order(params, names, 3)
    assert order == [1, 2, 0]  # by variance: 0.1, 1.0, 5.0
    new = permute_params(params, names, 3, order)
    np.testing.assert_allclose(transition_matrix(new, names, 3), P[np.ix_(order, order)])
    np.testing.assert_allclose(new[6:9], [2.0, 3.0, 1.0])
    np.testing.assert_allclose(new[9:12], [0.1, 1.0, 5.0])


def test_degenerate_reasons():
    names = ["p[0->0]", "p[1->0]", "const", "sigma2[0]", "sigma2[1]"]
    assert degenerate_reasons(np.array([0.95, 0.1, 0.0, 1.0, 4.0]), names, 2) == []
    reasons = degenerate_reasons(np.array([0.95, 0.6, 0.0, 1.0, 4.0]), names, 2)
    assert len(reasons) == 1 and "p[1->1] = 0.400" in reasons[0] and "< 2 periods" in reasons[0]
    assert degenerate_reasons(np.array([0.95, 0.1, 0.0, 0.0, 4.0]), names, 2) == ["a regime variance collapsed to zero"]
    assert degenerate_reasons(np.array([np.nan, 0.1, 0.0, 1.0, 4.0]), names, 2) == ["non-finite parameters"]


def test_forecast_is_p_power_h_times_filtered_probabilities():
    P = np.array([[0.9, 0.2], [0.1, 0.8]])  # column-stochastic
    pi = np.array([0.3, 0.7])
    np.testing.assert_allclose(forecast_probabilities(P, pi, 0), [0.3, 0.7])
    # by hand: P pi = (0.27 + 0.14, 0.03 + 0.56) = (0.41, 0.59)
    np.testing.assert_allclose(forecast_probabilities(P, pi, 1), [0.41, 0.59])
    # P (0.41, 0.59) = (0.369 + 0.118, 0.041 + 0.472) = (0.487, 0.513)
    np.testing.assert_allclose(forecast_probabilities(P, pi, 2), [0.487, 0.513])
    # long horizon: the ergodic distribution (0.2 / 0.3, 0.1 / 0.3) = (2/3, 1/3)
    np.testing.assert_allclose(forecast_probabilities(P, pi, 500), [2 / 3, 1 / 3])
