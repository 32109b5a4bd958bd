"""The pure event study on a simulated regime-switching stress index with planted effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests

from stresswatch.events import study
from stresswatch.events.study import StudyConfig


def simulate(n: int, seed: int = 7):
    """Business-day stress index: AR(1) around a regime-dependent mean, two persistent regimes
    (calm sd 0.05, stress sd 0.2); filtered P(stress) = a noisy reading of the true regime."""
    rng = np.random.default_rng(seed)
    cal = pd.bdate_range("1999-01-04", periods=n, name="date")
    state = np.zeros(n, dtype=int)
    for t in range(1, n):
        stay = 0.995 if state[t - 1] == 0 else 0.98
        state[t] = state[t - 1] if rng.random() < stay else 1 - state[t - 1]
    sd = np.where(state == 1, 0.2, 0.05)
    level = np.zeros(n)
    for t in range(1, n):
        level[t] = 0.97 * level[t - 1] + 0.03 * 0.5 * state[t] + sd[t] * rng.normal()
    p = np.clip(np.where(state == 1, 0.85, 0.1) + rng.normal(0, 0.05, n), 0, 1)
    probs = pd.DataFrame({"p_stress_filtered": p, "p_stress_smoothed": p}, index=cal)
    return pd.Series(level, index=cal, name="stress.index"), probs, state


def plant(index: pd.Series, positions, jump: float) -> pd.Series:
    out = index.copy()
    for p in positions:
        out.iloc[p:] += jump
    return out


def stmt(sid, day, tags=("x",)):
    return {"id": sid, "date": pd.Timestamp(day).date(), "tags": list(tags), "speaker": "S", "key_phrase": "k"}


@pytest.fixture(scope="module")
def sim():
    return simulate(4000)


def test_vectorised_statistics_match_their_definitions(sim):
    index, _, _ = sim
    v = index.to_numpy()
    rng = np.random.default_rng(1)
    for k in (1, 5, 10):
        for gap in (0, 3):
            _, ab = study.ar1_abnormal(v, k, 250, gap)
            for t in rng.integers(300, len(v) - 20, size=5):
                assert ab[t] == pytest.approx(study.reference_abnormal(v, int(t), k, 250, gap), abs=1e-9)
            assert np.isnan(ab[250 + k]) and np.isnan(ab[len(v) - k])  # no estimation window / no future
    d = study.window_change(v, -5, 5)
    assert d[100] == pytest.approx(v[105] - v[94])
    fx = 60 * np.exp(np.cumsum(rng.normal(0, 0.01, 600)))
    car = study.car_all(fx, 5, 250, 10)
    r = 100 * np.diff(np.log(fx), prepend=np.nan)
    t = 400
    expected = r[t - 5:t + 6].sum() - 11 * r[t - 10 - 250:t - 10].mean()
    assert car[t] == pytest.approx(expected)


def test_bh_qvalues_match_statsmodels():
    p = np.array([0.001, 0.04, 0.03, np.nan, 0.5, 0.02, 0.9])
    q = study.bh_qvalues(p)
    ok = np.isfinite(p)
    assert np.isnan(q[3])
    np.testing.assert_allclose(q[ok], multipletests(p[ok], method="fdr_bh")[1])


def test_bh_qvalue_is_never_below_its_p_value_in_floating_point():
    p = np.array([0.913086913086913, 0.2, 0.3, 0.4, 0.5])  # 0.913086913086913 * 5 / 5 rounds below itself
    assert (study.bh_qvalues(p) >= p).all()


def test_real_effect_found_null_not(sim):
    index, probs, state = sim
    calm = np.flatnonzero(state == 0)
    real = [int(x) for x in calm[(calm > 600) & (calm < 3900)][::400][:4]]
    nulls = [int(x) for x in calm[(calm > 700) & (calm < 3900)][::400][:5]]
    planted = plant(index, real, 1.0)
    statements = [stmt(f"real-{i}", index.index[p], ("real",)) for i, p in enumerate(real)]
    statements += [stmt(f"null-{i}", index.index[p], ("null",)) for i, p in enumerate(nulls)]
    res = study.run_study(statements, index=planted, probabilities=probs, config=StudyConfig(placebos=5000))
    table = res.statements.set_index("id")
    for i in range(len(real)):
        row = table.loc[f"real-{i}"]
        assert row["p_value"] < 0.01 and row["q_value"] < 0.05
        assert row["abnormal"] > 0.3 and row["d_index"] > 0.3
        assert row["regime"] == "calm" and row["p_stress_filtered"] < 0.5
    assert np.median(table.loc[[f"null-{i}" for i in range(len(nulls))], "p_value"]) > 0.1
    assert ((table["p_value"] > 0) & (table["p_value"] <= 1)).all()
    agg = res.aggregates.set_index("group")
    assert agg.loc["tag:real", "p_value"] < 0.01 and agg.loc["tag:real", "mean_abnormal"] > 0.3
    assert agg.loc["tag:null", "p_value"] > 0.05
    assert agg.loc["all", "n"] == len(statements)


def test_null_p_values_are_roughly_uniform():
    index, probs, _ = simulate(12000, seed=11)
    rng = np.random.default_rng(3)
    positions = np.sort(rng.choice(np.arange(400, 11980), size=200, replace=False))
    statements = [stmt(f"null-{i:03d}", index.index[p]) for i, p in enumerate(positions)]
    res = study.run_study(statements, index=index, probabilities=probs,
                          config=StudyConfig(placebos=999, exclusion_extra=0))
    p = res.statements["p_value"].to_numpy()
    assert np.isfinite(p).all() and len(p) == 200
    assert sps.kstest(p, "uniform").pvalue > 0.01
    counts = np.histogram(p, bins=5, range=(0, 1))[0]
    assert counts.min() >= 20 and counts.max() <= 60  # 40 expected per fifth


def test_confounded_flags_and_placebo_exclusion(sim):
    index, probs, _ = sim
    cal = index.index
    confounders = [{"id": "rate-hike", "date": cal[2000].date()},
                   {"id": "weekend-sanctions", "date": (cal[3000] - pd.Timedelta(days=2)).date()},  # a Saturday
                   {"id": "closure", "start": cal[1000].date(), "end": cal[1020].date()}]
    assert pd.Timestamp(confounders[1]["date"]).day_of_week == 5
    statements = [stmt("same-day", cal[2000]), stmt("three-after", cal[2003]), stmt("monday", cal[3000]),
                  stmt("in-closure", cal[1010]), stmt("clean", cal[2500])]
    res = study.run_study(statements, index=index, probabilities=probs, confounders=confounders,
                          config=StudyConfig(k=5, placebos=2000))
    t = res.statements.set_index("id")
    assert t.loc["same-day", "confounded"] and t.loc["same-day", "confounders"] == "rate-hike"
    assert t.loc["three-after", "confounders"] == "rate-hike"
    assert t.loc["monday", "confounders"] == "weekend-sanctions"
    assert t.loc["in-closure", "confounders"] == "closure"
    assert not t.loc["clean", "confounded"] and t.loc["clean", "confounders"] == ""
    narrow = study.run_study(statements, index=index, probabilities=probs, confounders=confounders,
                             config=StudyConfig(k=1, placebos=200)).statements.set_index("id")
    assert narrow.loc["same-day", "confounded"] and not narrow.loc["three-after", "confounded"]
    # placebos: never near a statement or confounder, same weekday and regime bucket as t0
    draws = res.placebo_positions
    radius = 5 + 5
    near = [2000, 2003, 3000, 1010, 2500] + list(range(1000, 1021))
    assert (draws >= 0).all()
    for c in near:
        assert not (np.abs(draws - c) <= radius).any()
    for i, p in enumerate(res.t0):
        assert (res.weekday[draws[i]] == res.weekday[p]).all()
        assert (res.bucket[draws[i]] == res.bucket[p]).all()
    assert t["match"].eq("regime+weekday").all()


def test_deterministic_and_seed_dependent(sim):
    index, probs, _ = sim
    statements = [stmt(f"s-{i}", index.index[500 + 300 * i]) for i in range(8)]
    cfg = StudyConfig(placebos=1000, seed=42)
    a = study.run_study(statements, index=index, probabilities=probs, config=cfg).statements
    b = study.run_study(list(reversed(statements)), index=index, probabilities=probs, config=cfg).statements
    pd.testing.assert_series_equal(a.set_index("id")["p_value"], b.set_index("id")["p_value"].loc[a["id"]])
    c = study.run_study(statements, index=index, probabilities=probs,
                        config=StudyConfig(placebos=1000, seed=43)).statements
    assert not np.allclose(a["p_value"], c["p_value"])


def test_loop_baseline_gives_the_same_p_values(sim):
    index, probs, _ = sim
    statements = [stmt(f"s-{i}", index.index[800 + 700 * i]) for i in range(3)]
    cfg = StudyConfig(placebos=300)
    res = study.run_study(statements, index=index, probabilities=probs, config=cfg)
    loop = study.loop_study(res.values, res.t0, [s["id"] for s in statements], res.valid, res.bucket, res.weekday,
                            cfg)
    np.testing.assert_allclose(loop, res.statements["p_value"].to_numpy())


def test_weekly_probabilities_are_read_as_of_t0(sim):
    index, probs, _ = sim
    weekly = probs.resample("W-FRI").last()
    day = index.index[1503]
    res = study.run_study([stmt("mid-week", day)], index=index, probabilities=weekly, config=StudyConfig(placebos=200))
    row = res.statements.iloc[0]
    expected = weekly[weekly.index <= day].iloc[-1]["p_stress_filtered"]
    assert row["p_stress_filtered"] == pytest.approx(expected)


def test_ruble_car_and_fallback_without_index(sim):
    index, probs, _ = sim
    rng = np.random.default_rng(5)
    fx_cal = index.index
    fx = pd.Series(70 * np.exp(np.cumsum(rng.normal(0, 0.002, len(fx_cal)))), index=fx_cal)
    t = 2000
    fx.iloc[t:] *= 1.10  # a 10% depreciation in the fixing dated t
    day = fx_cal[t - 1]  # statement the business day before: first shows in the fixing dated t
    res = study.run_study([stmt("devaluation", day)], index=index, fx=fx, probabilities=probs,
                          config=StudyConfig(placebos=500))
    row = res.statements.iloc[0]
    assert row["t0_fx"] == fx_cal[t].date()
    assert row["car_rub"] == pytest.approx(100 * np.log(1.10), abs=2.0)
    only_fx = study.run_study([stmt("devaluation", day)], fx=fx, probabilities=probs,
                              config=StudyConfig(placebos=500))
    assert only_fx.statistic == "car_rub"
    r = only_fx.statements.iloc[0]
    assert r["t0"] == fx_cal[t].date() and r["p_value"] < 0.01 and np.isnan(r["index"])


def test_statement_beyond_the_data_has_no_statistics(sim):
    index, probs, _ = sim
    future = index.index[-1] + pd.Timedelta(days=30)
    res = study.run_study([stmt("future", future)], index=index, probabilities=probs,
                          confounders=[{"id": "c", "date": (future + pd.Timedelta(days=1)).date()}],
                          config=StudyConfig(placebos=100))
    row = res.statements.iloc[0]
    assert row["t0"] is None and np.isnan(row["p_value"]) and np.isnan(row["q_value"])
    assert row["confounded"]  # by business-day distance when t0 is not in the data yet
