"""Regime models validated on real Russian history (../shared/data/real; skipped without it).

The real series go into a real Store as point-in-time vintages and every model is fitted through
`regimes.update_model`, the path `compute` uses. Acceptance set (METHODS.md section 3.2): the
stress regime covers most days of 2008-12-01..2009-02-28, December 2014, 2022-02-24..03-31 and
2023-08-07..08-18 (smoothed P > 0.5), the filtered P(stress) crosses 0.5 during or soon after
each, and at most 5% of the business days of the calm years 2017 and 2019 are flagged. The v0.2 headline `ruble3` is
checked here as it was validated then, in hindsight (one full-sample fit); issue 11 retired it because
it fails in real time (tests/regimes/test_real_time.py holds the new headline to the backtest). The full
table for every model, including the checks a model fails, is in docs/regimes.md.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.regimes.spec import DEFAULT_MODELS
from stresswatch.regimes.state import regime_state
from stresswatch.regimes.update import update_all
from tests.conftest import settings_for, shared_path

pytestmark = pytest.mark.slow

REQUIRED = [("2008-12-01", "2009-02-28"), ("2014-12-01", "2014-12-31"), ("2022-02-24", "2022-03-31"),
            ("2023-08-07", "2023-08-18")]
FETCHED = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
#: the v0.2 headline (weekly) and its daily twin, retired by issue 11 (they fail the real-time
#: backtest: docs/regimes.md); kept here as configurable models whose hindsight fits these tests pin
RUBLE3 = {"id": "ruble3", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 3, "switching_mean": True,
          "switching_variance": True, "frequency": "W", "start": dt.date(1999, 1, 1)}
RUBLE3D = dict(RUBLE3, id="ruble3d", frequency="D")


def load_usd() -> pd.Series:
    old = pd.read_csv(shared_path("data", "real", "fx", "cbr_usd_rub_1992_2024.csv"))
    old = pd.Series(old["rate"].to_numpy(float), index=pd.to_datetime(old["date"], format="%m/%d/%Y"))
    new = pd.read_csv(shared_path("data", "real", "fx", "cbr_usd_eur_cny_rub_2021_2026.csv"))
    new = new[new["currency"] == "USD"]
    new = pd.Series(new["rub_per_unit"].to_numpy(float), index=pd.to_datetime(new["date"]))
    s = pd.concat([old[old.index < "2021-01-01"], new]).sort_index()
    return s[~s.index.duplicated(keep="last")]


@pytest.fixture(scope="module")
def real_store(tmp_path_factory):
    from stresswatch.store import Store

    usd = load_usd()
    folder = tmp_path_factory.mktemp("real")
    store = Store.open(folder / "sw.db")
    store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD/RUB", "RUB per USD", "D")])
    store.observations.write_observations([Observation("cbr.fx.USD", d.date(), float(v)) for d, v in usd.items()],
                                          fetched_at=FETCHED)
    yield store, folder, usd.index[-1].date()
    store.close()


def fit(real_store, model: dict) -> pd.DataFrame:
    store, folder, asof = real_store
    settings = settings_for(folder, **{"regimes.models": [model]})
    summary = update_all(store, settings, asof)[0]
    assert summary.status == "cold" and summary.accepted and summary.converged and not summary.fallback
    probs = regime_state(store, settings, asof, model["id"]).frame()
    return probs.set_index("date")


def covered(p: pd.DataFrame, start: str, end: str) -> float:
    window = p[(p.index >= start) & (p.index <= end)]
    assert len(window) > 0
    return float((window["p_stress_smoothed"] > 0.5).mean())


def lag(p: pd.DataFrame, start: str, end: str) -> int | None:
    after = p[(p.index >= start) & (p.index <= pd.Timestamp(end) + pd.offsets.BDay(20))]
    hit = after.index[after["p_stress_filtered"] > 0.5]
    return int(np.busday_count(pd.Timestamp(start).date(), hit[0].date())) if len(hit) else None


def calm(p: pd.DataFrame, year: int) -> float:
    window = p[(p.index.year == year) & (p.index.day_of_week < 5)]
    return float((window["p_stress_smoothed"] > 0.5).mean())


def test_old_headline_ruble3_weekly_passes_every_documented_episode_in_hindsight(real_store):
    p = fit(real_store, dict(RUBLE3))
    for start, end in REQUIRED:
        assert covered(p, start, end) > 0.5, (start, end)
        assert lag(p, start, end) is not None, (start, end)
    for year in (2017, 2019):
        assert calm(p, year) <= 0.05, year
    # the 2022 shock is caught in real time within a week
    assert lag(p, "2022-02-24", "2022-03-31") <= 5


def test_daily_ruble3d_catches_the_sharp_episodes_at_once_and_keeps_calm_years_calm(real_store):
    p = fit(real_store, dict(RUBLE3D))
    for start, end in REQUIRED[1:]:
        assert covered(p, start, end) > 0.5, (start, end)
        assert lag(p, start, end) <= 2, (start, end)
    for year in (2017, 2019):
        assert calm(p, year) <= 0.05, year
    # the managed 2008-09 devaluation moved in daily steps the model files under "elevated"
    # (docs/regimes.md): the weekly headline covers it, the daily model does not
    assert covered(p, *REQUIRED[0]) < 0.5


def test_two_daily_regimes_split_the_managed_and_floating_eras(real_store):
    p = fit(real_store, {"id": "ruble2", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 2})
    flagged = p["p_stress_smoothed"] > 0.5
    before = float(flagged[p.index < "2014-11-10"].mean())
    after = float(flagged[p.index >= "2014-11-10"].mean())
    # the "stress" regime is mostly the free-float era, not the crises
    assert after > 2 * before
    assert calm(p, 2017) > 0.05


def load_keyrate() -> pd.Series:
    a = pd.read_csv(shared_path("data", "real", "rates", "cbr_key_rate_daily_2013_2023.tsv"), sep="\t")
    a = pd.Series(a.iloc[:, 1].astype(str).str.replace(",", ".").astype(float).to_numpy(),
                  index=pd.to_datetime(a.iloc[:, 0], format="%d.%m.%Y"))
    b = pd.read_csv(shared_path("data", "real", "rates", "cbr_key_rate_daily_2021_2026.csv"))
    b = pd.Series(b["key_rate_pct"].to_numpy(float), index=pd.to_datetime(b["date"]))
    s = pd.concat([a[a.index < "2021-01-01"], b]).sort_index()
    return s[~s.index.duplicated(keep="last")]


def test_stress_index_model_through_compute(real_store):
    """USD/RUB + key rate -> `compute` (the indicators engineer's composite, no look-ahead) -> the
    2-regime stress-index model. It covers the three large episodes; its misses (Aug 2023 at the
    0.5 line, calm years flagged: 18% of 2017 with these two inputs, 10% of 2019 with Brent and
    MOEX added) are in docs/regimes.md and are why it is not the headline."""
    compute = pytest.importorskip("stresswatch.compute")
    store, folder, asof = real_store
    rate = load_keyrate()
    store.observations.upsert_series([SeriesInfo("cbr.keyrate", "cbr", "key rate", "%", "D")])
    store.observations.write_observations([Observation("cbr.keyrate", d.date(), float(v)) for d, v in rate.items()],
                                          fetched_at=FETCHED)
    settings = settings_for(folder)
    compute.compute(store, settings, asof, run_regimes=False)
    spec = next(m for m in DEFAULT_MODELS if m["id"] == "stress")
    p = fit(real_store, dict(spec))
    assert p.index[0] >= pd.Timestamp("1999-01-01")
    for start, end in REQUIRED[:3]:
        assert covered(p, start, end) > 0.5, (start, end)
        assert lag(p, start, end) <= 5, (start, end)
