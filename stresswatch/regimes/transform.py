"""The model input: a raw stored series turned into what a regime model is fitted on (pure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stresswatch.errors import ModelError
from stresswatch.regimes.spec import RegimeSpec


def transform(series: pd.Series, spec: RegimeSpec) -> pd.Series:
    """The model input from a raw series, on the series' own observation calendar.

    Returns are `100 * diff(log x)` between consecutive *observations* (CBR has no Sunday/Monday
    rows and some Saturday rows; a return is never computed across a reindexed calendar, so no
    artificial zeros or NaN appear). `weekly_logret` (or `frequency = "W"`) first takes the last
    observation of each week ending Friday, on that observation's own date. Values before `spec.start` are dropped after the
    transform (the first return in the window still uses the previous level).
    """
    x = pd.Series(series, dtype=float).dropna().sort_index()
    x = x[~x.index.duplicated(keep="last")]
    if spec.periodicity == "W":
        # the last observation of each Saturday..Friday week, kept on its own date (a week still in
        # progress is dated by its latest observation, never by a future Friday)
        x = x.groupby(x.index.to_period("W-FRI")).tail(1)
    if spec.transform in ("logret", "weekly_logret", "abs_logret"):
        if (x <= 0).any():
            raise ModelError(f"model {spec.id}: {spec.series} has non-positive values; log returns impossible")
        y = 100.0 * np.log(x).diff()
        if spec.transform == "abs_logret":
            y = y.abs()
    else:
        y = x
    y = y.dropna()
    y = y[y.index >= pd.Timestamp(spec.start)]
    y.index.name = "date"
    return y.rename(spec.id)


