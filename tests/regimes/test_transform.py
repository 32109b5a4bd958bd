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
