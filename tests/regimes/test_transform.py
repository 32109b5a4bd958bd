"""The model input from a stored series."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from stresswatch.errors import ModelError
from stresswatch.regimes.spec import (
    RegimeSpec,
)
from stresswatch.regimes.transform import transform


def test_transform_uses_the_series_own_observation_calendar():
    # CBR-like: no Sunday/Monday rows, a Saturday row
    dates = pd.to_datetime(["2023-08-08", "2023-08-09", "2023-08-10", "2023-08-11", "2023-08-12",
                            "2023-08-15", "2023-08-16"])
    x = pd.Series([95.0, 96.0, 97.0, 97.0, 98.0, 101.04, 97.0], index=dates)
    spec = RegimeSpec(id="r", series="cbr.fx.USD", transform="logret", k_regimes=2)
    y = transform(x, spec)
    assert list(y.index) == list(dates[1:])
    assert y.loc["2023-08-15"] == pytest.approx(100 * np.log(101.04 / 98.0))  # across the gap, one return
    assert (y == 0).sum() == 1  # only the real unchanged fixing
    absr = transform(x, RegimeSpec(id="a", series="s", transform="abs_logret"))
    np.testing.assert_allclose(absr.to_numpy(), np.abs(y.to_numpy()))
    weekly = transform(x, RegimeSpec(id="w", series="s", transform="logret", frequency="W"))
    # weeks end Friday: 2023-08-11 (last obs of its week), then 2023-08-16 (week in progress, own date)
    assert list(weekly.index) == [pd.Timestamp("2023-08-16")]
    assert weekly.iloc[0] == pytest.approx(100 * np.log(97.0 / 97.0))
    with pytest.raises(ModelError, match="non-positive"):
        transform(pd.Series([1.0, -1.0], index=dates[:2]), spec)
    late = transform(x, RegimeSpec(id="s", series="s", transform="level", start=dt.date(2023, 8, 12)))
    assert late.index[0] == pd.Timestamp("2023-08-12")


def _policy_spec(**extra):
    from stresswatch.regimes.spec import DEFAULT_MODELS

    return RegimeSpec(**{**DEFAULT_MODELS[0], **extra})


def test_policy_rate_is_usd_then_the_basket_then_usd():
    """USD/RUB to 2005-02-01, 0.55 USD + 0.45 EUR to the 2014-11-10 float, USD/RUB after."""
    from stresswatch.regimes.transform import policy_returns

    days = pd.bdate_range("2005-01-25", "2005-02-08").append(pd.bdate_range("2014-11-05", "2014-11-14"))
    rng = np.random.default_rng(3)
    usd = pd.Series(28 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days)))), index=days)
    eur = pd.Series(36 * np.exp(np.cumsum(rng.normal(0, 0.01, len(days)))), index=days)
    r = policy_returns(usd, eur, _policy_spec())
    basket = 0.55 * usd + 0.45 * eur
    assert r.loc["2005-02-01"] == pytest.approx(100 * np.log(usd.loc["2005-02-01"] / usd.loc["2005-01-31"]))
    assert r.loc["2005-02-02"] == pytest.approx(100 * np.log(basket.loc["2005-02-02"] / basket.loc["2005-02-01"]))
    assert r.loc["2014-11-10"] == pytest.approx(100 * np.log(basket.loc["2014-11-10"] / basket.loc["2014-11-07"]))
    assert r.loc["2014-11-11"] == pytest.approx(100 * np.log(usd.loc["2014-11-11"] / usd.loc["2014-11-10"]))
    # without EUR the whole history is USD/RUB
    only_usd = policy_returns(usd, None, _policy_spec())
    assert only_usd.loc["2005-02-02"] == pytest.approx(100 * np.log(usd.loc["2005-02-02"] / usd.loc["2005-02-01"]))


def test_headline_input_is_causal_gated_and_skips_pegged_rows():
    """The input known on a day is the prefix of the input of the whole history (no look-ahead in
    the baseline, the 3-day sum, the gate or the peg detector), across the basket and float dates."""
    from stresswatch.regimes.transform import model_input

    days = pd.bdate_range("2003-01-01", "2016-12-30")
    rng = np.random.default_rng(11)
    vol = np.where(days < "2008-09-01", 0.0005, 0.008)  # a peg, then a floating-like rate
    usd = pd.Series(30 * np.exp(np.cumsum(rng.normal(0, vol))), index=days)
    eur = pd.Series(40 * np.exp(np.cumsum(rng.normal(0, vol))), index=days)
    spec = _policy_spec()
    full = model_input({"cbr.fx.USD": usd, "cbr.fx.EUR": eur}, spec)
    for cut in ("2005-02-01", "2005-02-03", "2008-10-15", "2014-11-10", "2014-11-12"):
        part = model_input({"cbr.fx.USD": usd[:cut], "cbr.fx.EUR": eur[:cut]}, spec)
        n = len(part)
        assert list(part.dates) == list(full.dates[:n]) and part.dates[-1] == pd.Timestamp(cut)
        np.testing.assert_array_equal(part.y, full.y[:n])
        np.testing.assert_array_equal(part.gate_open, full.gate_open[:n])
        np.testing.assert_array_equal(part.fit_ok, full.fit_ok[:n])
    # pegged stretch (median |r| ~ 0.04 % < 0.1 %) left out of fits, the floating stretch kept
    pegged = full.fit_ok[(full.dates > "2004-01-01") & (full.dates < "2008-08-01")]
    floating = full.fit_ok[full.dates > "2009-06-01"]
    assert not pegged.any() and floating.all()
    # after the float the gate is open exactly where USD/RUB is above its level 63 observations earlier
    weaker = (np.log(usd) - np.log(usd).shift(63)) > 0
    after = full.dates > pd.Timestamp("2015-03-01")
    np.testing.assert_array_equal(full.gate_open[after], weaker.reindex(full.dates[after]).to_numpy())
