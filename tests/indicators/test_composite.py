"""The composite: recursive ECDF (no look-ahead, O(n log n)), segments, EWMA correlations, the
quadratic form, weights, contributions and missing segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stresswatch.indicators.composite import (
    ciss, composite, recursive_ecdf, recursive_ecdf_naive, resolve_weights, segment_scores)


def test_recursive_ecdf_hand_values_with_ties_and_gaps():
    x = pd.Series([3.0, 1.0, np.nan, 2.0, 2.0, 5.0])
    z = recursive_ecdf(x, burn_in=1)
    # ranks among the values seen so far; ties share their average rank
    expected = [1 / 1, 1 / 2, np.nan, 2 / 3, 2.5 / 4, 5 / 5]
    np.testing.assert_allclose(z.to_numpy(), expected)
    z3 = recursive_ecdf(x, burn_in=3)
    assert z3.iloc[:3].isna().all() and z3.iloc[3] == pytest.approx(2 / 3)


def test_recursive_ecdf_equals_brute_force_and_ignores_the_future():
    rng = np.random.default_rng(7)
    x = pd.Series(np.round(rng.normal(size=600), 1))  # many ties
    x[rng.choice(600, 40, replace=False)] = np.nan
    fast = recursive_ecdf(x, 50)
    np.testing.assert_allclose(fast.to_numpy(), recursive_ecdf_naive(x, 50).to_numpy(), equal_nan=True)
    head = recursive_ecdf(x.iloc[:400], 50)
    pd.testing.assert_series_equal(head, fast.iloc[:400])


def test_single_segment_index_is_its_square():
    s = pd.DataFrame({"fx": [0.2, 0.9, 0.5, 1.0]})
    r = ciss(s, warmup=1)
    np.testing.assert_allclose(r.index.to_numpy(), [0.04, 0.81, 0.25, 1.0])
    np.testing.assert_allclose(r.contributions["fx"].to_numpy(), r.index.to_numpy())


def test_two_segments_hand_computed_with_ewma_correlation():
    s = pd.DataFrame({"fx": [0.9, 0.1, 0.8], "policy": [0.7, 0.3, 0.2]})
    lam = 0.5
    r = ciss(s, lam=lam, warmup=1)
    x = s.to_numpy() - 0.5
    # bias-corrected EWMA (weights lam^k normalised) of the products up to t = 2
    w = np.array([lam ** 2, lam, 1.0])
    cov = np.einsum("t,ti,tj->ij", w, x, x) / w.sum()
    rho = cov[0, 1] / np.sqrt(cov[0, 0] * cov[1, 1])
    ws = 0.5 * s.iloc[2].to_numpy()
    expected = ws[0] ** 2 + ws[1] ** 2 + 2 * rho * ws[0] * ws[1]
    assert r.index.iloc[2] == pytest.approx(expected)
    assert r.contributions.iloc[2].sum() == pytest.approx(expected)
    # first day: one observation, correlation ±1 -> (w·s)² with the sign of the product
    assert r.index.iloc[0] == pytest.approx((0.5 * 0.9 + 0.5 * 0.7) ** 2)
    assert r.corr_mean.iloc[2] == pytest.approx(rho)


def test_weights_from_config_and_missing_segments():
    assert resolve_weights(["fx", "policy"], {}) == {"fx": 0.5, "policy": 0.5}
    assert resolve_weights(["fx", "policy"], {"fx": 3, "policy": 1, "trade": 4}) == {"fx": 0.75, "policy": 0.25}
    assert resolve_weights(["fx", "policy"], {"fx": 1.0, "policy": 0.0}) == {"fx": 1.0, "policy": 0.0}
    s = pd.DataFrame({"fx": [0.8] * 4, "policy": [0.6] * 4})
    only_fx = ciss(s, {"fx": 1.0, "policy": 0.0}, warmup=1)
    np.testing.assert_allclose(only_fx.index.to_numpy(), 0.64)
    assert list(only_fx.segments.columns) == ["fx"]
    weighted = ciss(s, {"fx": 3.0, "policy": 1.0}, warmup=1)
    # constant segments: correlation 1, index = (0.75·0.8 + 0.25·0.6)²
    np.testing.assert_allclose(weighted.index.to_numpy(), (0.75 * 0.8 + 0.25 * 0.6) ** 2)


def test_a_segment_enters_after_warmup_and_weights_renormalise():
    s = pd.DataFrame({"fx": [0.8] * 6, "trade": [np.nan, np.nan, 0.9, 0.9, 0.9, 0.9]})
    r = ciss(s, warmup=2)
    assert pd.isna(r.index.iloc[0])                       # fx has one observation
    assert r.index.iloc[1] == pytest.approx(0.64)           # fx alone, weight 1
    assert r.index.iloc[2] == pytest.approx(0.64)           # trade not warm yet
    assert r.contributions["trade"].iloc[2] == 0.0
    assert r.index.iloc[3] == pytest.approx((0.5 * 0.8 + 0.5 * 0.9) ** 2)
    assert r.weights == {"fx": 0.5, "trade": 0.5}


def test_composite_is_truncation_invariant_and_bounded():
    rng = np.random.default_rng(3)
    n = 900
    idx = pd.bdate_range("2020-01-01", periods=n)
    common = np.cumsum(rng.normal(size=n))
    measures = {
        "fx": pd.DataFrame({"a": common + rng.normal(size=n), "b": np.abs(rng.normal(size=n))}, index=idx),
        "policy": pd.DataFrame({"c": np.round(common / 3) + rng.normal(size=n) * 0.1}, index=idx),
        "equity": pd.DataFrame({"d": rng.normal(size=n)}, index=idx),
    }
    full = composite(measures, burn_in=100)
    cut = composite({k: v.iloc[:700] for k, v in measures.items()}, burn_in=100)
    pd.testing.assert_series_equal(cut.index, full.index.iloc[:700])
    pd.testing.assert_frame_equal(cut.contributions, full.contributions.iloc[:700])
    pd.testing.assert_series_equal(cut.percentile, full.percentile.iloc[:700])
    v = full.index.dropna()
    assert len(v) == n - 99 - 19 and v.between(0, 1).all()  # burn-in, then 20 days of EWMA warm-up
    np.testing.assert_allclose(full.contributions.loc[v.index].sum(axis=1), v)


def test_segment_is_the_mean_of_its_transformed_measures():
    idx = pd.RangeIndex(4)
    m = {"fx": pd.DataFrame({"a": [1.0, 2.0, 3.0, 0.0], "b": [4.0, 3.0, 2.0, np.nan]}, index=idx)}
    segs, z = segment_scores(m, burn_in=1)
    np.testing.assert_allclose(z["fx:a"], [1.0, 1.0, 1.0, 0.25])
    np.testing.assert_allclose(z["fx:b"].iloc[:3], [1.0, 0.5, 1 / 3])
    np.testing.assert_allclose(segs["fx"], [1.0, 0.75, 2 / 3, 0.25])
