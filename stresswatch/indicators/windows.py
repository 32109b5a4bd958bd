"""Rolling statistics whose value on a day depends only on the values inside its window.

pandas' rolling mean and standard deviation update running sums as the window moves, so their
result carries rounding from every value that ever passed through the window: twenty zero returns
give exactly 0 after one history and 4e-7 after another. The stress index ranks these values
against each other, and the daily compute computes a new day from the last few years of inputs
while the stored history was computed from 1999: both must give the same number for the same
window. These functions compute each window on its own (two-pass mean and sum of squared
deviations), in blocks of rows so that memory stays at `BLOCK` rows × window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

#: windows computed per block (a 1,260-day window over 512 days is 5 MB)
BLOCK = 512


def _windows(values: np.ndarray, window: int):
    """(start, stop, view of the windows ending at rows start..stop-1) in blocks."""
    padded = np.concatenate([np.full(window - 1, np.nan), values])
    view = sliding_window_view(padded, window)
    for start in range(0, len(values), BLOCK):
        yield start, min(start + BLOCK, len(values)), view[start:start + BLOCK]


def rolling_mean(x: pd.Series, window: int, min_periods: int | None = None) -> pd.Series:
    """Mean of the non-missing values in each window of `window` rows ending on a row; NaN when
    fewer than `min_periods` (default: `window`) are present."""
    v = x.to_numpy(dtype=float)
    need = window if min_periods is None else max(1, int(min_periods))
    out = np.full(len(v), np.nan)
    for start, stop, w in _windows(v, int(window)):
        count = (~np.isnan(w)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(w, axis=1) / count
        out[start:stop] = np.where(count >= need, mean, np.nan)
    return pd.Series(out, index=x.index, name=x.name)


def rolling_std(x: pd.Series, window: int, min_periods: int | None = None, ddof: int = 1) -> pd.Series:
    """Sample standard deviation (ddof 1) of the non-missing values in each window of `window`
    rows ending on a row; NaN when fewer than `min_periods` (default: `window`) or not more than
    `ddof` are present."""
    v = x.to_numpy(dtype=float)
    need = window if min_periods is None else max(1, int(min_periods))
    out = np.full(len(v), np.nan)
    for start, stop, w in _windows(v, int(window)):
        present = ~np.isnan(w)
        count = present.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(w, axis=1) / count
            dev = np.where(present, w - mean[:, None], 0.0)
            var = (dev * dev).sum(axis=1) / (count - ddof)
        ok = (count >= need) & (count > ddof)
        out[start:stop] = np.where(ok, np.sqrt(np.where(ok, var, 0.0)), np.nan)
    return pd.Series(out, index=x.index, name=x.name)
