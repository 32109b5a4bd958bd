"""The composite: recursive ECDF (no look-ahead, O(n log n)), ranks of a block after a history,
segments, the mean of squared segment scores, weights, contributions, the publication rule,
coverage, the monthly measures beside the index, and truncation invariance of every output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stresswatch.indicators.composite import (
    BURN_IN, History, composite, mean_of_squares, rank_block, recursive_ecdf, recursive_ecdf_naive,
    resolve_weights, segment_scores)


def synthetic(n: int = 1600, seed: int = 1) -> dict[str, pd.DataFrame]:
    """Four daily segments with ties, gaps, a segment that starts late, one that goes stale, and a
    monthly trade family (steps)."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2000-01-03", periods=n)
    common = np.cumsum(rng.normal(size=n)) * 0.05
    out = {}
    for name in ("fx", "policy", "equity", "external"):
        cols = {}
        for j in range(2):
            x = np.abs(common + rng.normal(size=n))
            if name == "policy":
                x = np.round(x, 0)  # many ties, like a rate that rarely moves
            x[rng.random(n) < 0.03] = np.nan
            cols[f"{name}{j}"] = x
        f = pd.DataFrame(cols, index=idx)
        if name == "equity":
            f.iloc[:300] = np.nan  # starts late
        if name == "external":
            f.iloc[-40:] = np.nan  # goes stale at the end
        out[name] = f
    monthly = pd.Series(rng.normal(size=n // 21 + 1)).repeat(21).to_numpy()[:n]
    out["trade"] = pd.DataFrame({"t0": np.where(np.arange(n) > 200, monthly, np.nan)}, index=idx)
    return out


def cut(measures: dict[str, pd.DataFrame], start: int, stop: int | None = None) -> dict[str, pd.DataFrame]:
    return {k: v.iloc[start:stop] for k, v in measures.items()}


def assert_same(got, expected) -> None:
    """Same dates and the same values (NaN where NaN), to 1e-12."""
    got, expected = pd.DataFrame(got), pd.DataFrame(expected)
    assert got.index.equals(expected.index) and got.shape == expected.shape
    np.testing.assert_allclose(got.to_numpy(float), expected.to_numpy(float), rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# ranks
# ---------------------------------------------------------------------------------------------
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


@pytest.mark.parametrize("split", [0, 1, 100, 249, 250, 251, 900, 1199, 1200])
def test_a_block_ranked_after_its_history_equals_the_full_recursion(split):
    rng = np.random.default_rng(7)
    x = np.round(rng.normal(size=1200), 1)  # ties
    x[rng.random(1200) < 0.05] = np.nan
    full = recursive_ecdf(pd.Series(x), 250).to_numpy()
    np.testing.assert_array_equal(rank_block(x[:split], x[split:], 250), full[split:])


# ---------------------------------------------------------------------------------------------
# aggregation
# ---------------------------------------------------------------------------------------------
def test_single_segment_index_is_its_square_and_weights_are_configurable():
    s = pd.DataFrame({"fx": np.linspace(0, 1, 30), "policy": np.full(30, 0.5)})
    one, contrib = mean_of_squares(s[["fx"]])
    np.testing.assert_allclose(one, s["fx"] ** 2)
    np.testing.assert_allclose(contrib["fx"], one)
    weighted, _ = mean_of_squares(s, {"fx": 3, "policy": 1})
    np.testing.assert_allclose(weighted, 0.75 * s["fx"] ** 2 + 0.25 * 0.25)


def test_two_segments_hand_computed_with_a_missing_day():
    s = pd.DataFrame({"fx": [0.9, 0.1, 0.8], "policy": [0.7, np.nan, 0.2]})
    index, contrib = mean_of_squares(s)
    np.testing.assert_allclose(index, [(0.81 + 0.49) / 2, 0.01, (0.64 + 0.04) / 2])
    np.testing.assert_allclose(contrib.to_numpy(), [[0.405, 0.245], [0.01, 0.0], [0.32, 0.02]])


def test_weights_from_config_and_missing_segments():
    assert resolve_weights(["fx", "policy"], {}) == {"fx": 0.5, "policy": 0.5}
    assert resolve_weights(["fx", "policy"], {"fx": 3, "policy": 1, "trade": 4}) == {"fx": 0.75, "policy": 0.25}
    assert resolve_weights(["fx", "policy"], {"fx": 1.0, "policy": 0.0}) == {"fx": 1.0, "policy": 0.0}
    s = pd.DataFrame({"fx": [0.8] * 4, "policy": [0.6] * 4})
    only_fx, contrib = mean_of_squares(s, {"fx": 1.0, "policy": 0.0})
    np.testing.assert_allclose(only_fx, 0.64)
    assert (contrib["policy"] == 0).all()


def test_segment_is_the_mean_of_its_transformed_measures():
    idx = pd.RangeIndex(4)
    m = {"fx": pd.DataFrame({"a": [1.0, 2.0, 3.0, 0.0], "b": [4.0, 3.0, 2.0, np.nan]}, index=idx)}
    segs, z = segment_scores(m, burn_in=1)
    np.testing.assert_allclose(z["fx:a"], [1.0, 1.0, 1.0, 0.25])
    np.testing.assert_allclose(z["fx:b"].iloc[:3], [1.0, 0.5, 1 / 3])
    np.testing.assert_allclose(segs["fx"], [1.0, 0.75, 2 / 3, 0.25])


def test_formula_contributions_coverage_and_trade_beside():
    m = synthetic()
    res = composite(m, burn_in=250)
    on = res.index.notna()
    S = res.segments[on]
    w = S.notna().astype(float)
    w = w.div(w.sum(axis=1), axis=0)
    np.testing.assert_allclose(res.index[on], (w * S.fillna(0) ** 2).sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(res.contributions[on].sum(axis=1), res.index[on], atol=1e-12)
    assert res.index.between(0, 1).sum() == on.sum()
    assert res.contributions[~on].isna().all().all()
    # stale external at the end: coverage drops to 3 of the 4 segments ranked so far
    assert res.coverage.iloc[-1] == pytest.approx(0.75) and res.coverage[on].iloc[:-40].max() == 1.0
    assert res.contributions["external"].iloc[-1] == 0.0
    # trade is beside the index, never a segment of it, ranked over the months it changed
    assert "trade" not in res.segments.columns and res.beside["trade"].between(0, 1).sum() > 500
    assert list(res.weights) == ["fx", "policy", "equity", "external"]


# ---------------------------------------------------------------------------------------------
# publication
# ---------------------------------------------------------------------------------------------
def test_nothing_is_published_before_every_segment_with_data_is_ranked():
    m = synthetic()
    res = composite(m, burn_in=BURN_IN)
    t0 = res.published_from
    assert res.index[:t0].iloc[:-1].isna().all() and not np.isnan(res.index[t0])
    assert res.coverage[:t0].iloc[:-1].isna().all() and res.percentile[:t0].isna().all()
    # equity starts 300 rows late and is still in its burn-in while the others are ranked: it has
    # data, so it blocks publication until it is ranked too
    ranked = res.segments.loc[t0].notna()
    with_data = pd.Series({k: v.loc[t0].notna().any() for k, v in m.items() if k != "trade"})
    assert ranked[with_data[with_data].index].all()
    assert res.index.index.get_loc(t0) >= 300 + BURN_IN - 1
    assert res.segments["fx"].first_valid_index() < t0
    # the percentile has its own burn-in on the published index
    assert res.percentile.first_valid_index() > t0


def test_a_segment_with_weight_zero_does_not_hold_publication_back():
    m = synthetic()
    base = composite(m, burn_in=BURN_IN)
    res = composite(m, {"fx": 1, "policy": 1, "equity": 0, "external": 1}, burn_in=BURN_IN)
    assert res.published_from < base.published_from and "equity" not in res.segments.columns


def test_a_segment_appearing_after_publication_joins_without_unpublishing():
    m = synthetic()
    late = pd.DataFrame({"x": np.r_[np.full(1100, np.nan), np.linspace(0, 1, 500)]}, index=m["fx"].index)
    base = composite(m, burn_in=BURN_IN)
    res = composite(dict(m, extra=late), burn_in=BURN_IN)
    assert res.published_from == base.published_from
    assert res.index.notna().sum() == base.index.notna().sum()
    joins = res.segments["extra"].first_valid_index()
    assert res.index.index.get_loc(joins) == 1100 + BURN_IN - 1


# ---------------------------------------------------------------------------------------------
# no look-ahead
# ---------------------------------------------------------------------------------------------
OUTPUTS = ("index", "percentile", "coverage", "corr_mean", "segments", "contributions")


@pytest.mark.parametrize("T", [300, 499, 500, 501, 777, 1200, 1599])
def test_every_output_is_truncation_invariant(T):
    m = synthetic()
    full = composite(m)
    part = composite(cut(m, 0, T))
    for attr in OUTPUTS:
        got, expected = getattr(part, attr), getattr(full, attr).iloc[:T]
        if isinstance(expected, pd.DataFrame):  # a segment not ranked yet has no column in the part
            got = got.reindex(columns=expected.columns)
        assert_same(got, expected)
    assert_same(part.beside["trade"], full.beside["trade"].iloc[:T])
    if part.published_from is not None:
        assert part.published_from == full.published_from


@pytest.mark.parametrize("splits", [[1599], [1590, 1595, 1599], [250, 900], [600, 1000, 1300, 1550]])
def test_appending_blocks_after_the_history_equals_computing_the_whole_grid(splits):
    m = synthetic()
    full = composite(m)
    history, start = History.empty(), 0
    for stop in splits + [len(full.index)]:
        block = composite(cut(m, start, stop), history=history)
        for attr in OUTPUTS:
            got, expected = getattr(block, attr), getattr(full, attr).iloc[start:stop]
            if isinstance(expected, pd.DataFrame):
                got = got.reindex(columns=expected.columns)
            assert_same(got, expected)
        assert_same(block.beside["trade"], full.beside["trade"].iloc[start:stop])
        history, start = block.history, stop
    assert history.length == len(full.index)
    np.testing.assert_array_equal(history.index, full.history.index)
