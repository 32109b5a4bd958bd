"""The model input: stored series turned into what a regime model is fitted on (pure).

`transform(series, spec)` gives the plain input of a one-series spec (returns or levels on the
series' own calendar); `model_input(raw, spec)` the full `ModelInput` of any spec: the values `y`,
which rows the fits may use (`fit_ok`: not pegged) and the direction gate (`gate_open`: the ruble
weaker than `gate` observations earlier). Every step is causal for daily specs: the row dated t
uses observations dated <= t only, so the input of a shorter history is a prefix of the input of
a longer one (the backtest relies on it; `ModelInput.causal` says when it holds).

The policy exchange rate (`policy_logret`) is the rate the Bank of Russia steered: USD/RUB until
the dual-currency basket became the operational target (1 Feb 2005), the basket
BASKET_WEIGHT x USD + (1 - BASKET_WEIGHT) x EUR until the float (10 Nov 2014), USD/RUB after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from stresswatch.errors import ModelError
from stresswatch.regimes.spec import RegimeSpec

#: the Bank of Russia made the USD/EUR basket its operational target on 1 Feb 2005 (USD/RUB before)
BASKET_FROM = pd.Timestamp(dt.date(2005, 2, 1))
#: ... and ended the managed band on 10 Nov 2014 (the float)
FLOAT_DATE = pd.Timestamp(dt.date(2014, 11, 10))
#: USD weight of the basket in currency units: 0.55 USD + 0.45 EUR, the weights from 8 Feb 2007 to
#: the float, used for the whole basket era (the 2005-06 weights fall inside the basket peg that
#: the fits leave out)
BASKET_WEIGHT = 0.55
#: median |x| x 1.4826 = standard deviation, for normal data
MAD_TO_SD = 1.4826
#: the peg detector: median |value| over this many previous observations (at least PEG_MIN_OBS;
#: rows before that are not fit_ok)
PEG_WINDOW = 60
PEG_MIN_OBS = 20
#: the slow baseline needs this many previous observations (NaN before: no input yet)
SCALE_MIN_OBS = 60


@dataclass(frozen=True)
class ModelInput:
    """A model's input on its observation calendar (arrays aligned with `dates`)."""

    dates: pd.DatetimeIndex
    y: np.ndarray
    #: rows the fits may use (False: administratively pegged, or before the peg detector's window)
    fit_ok: np.ndarray
    #: the direction gate: True where the stress regime counts as stress (always True without a gate)
    gate_open: np.ndarray
    #: the input of a shorter history is a prefix of this one (daily specs)
    causal: bool = True

    def __len__(self) -> int:
        return len(self.y)

    def head(self, n: int) -> "ModelInput":
        """The first n rows (views, no copy)."""
        return ModelInput(self.dates[:n], self.y[:n], self.fit_ok[:n], self.gate_open[:n], self.causal)

    def fingerprint(self, n: int | None = None) -> str:
        """A digest of the first n values (all when None): equal digests, equal inputs."""
        values = np.ascontiguousarray(self.y[: len(self.y) if n is None else n], dtype=float)
        return hashlib.blake2b(values.tobytes(), digest_size=12).hexdigest()

    def date(self, i: int) -> dt.date:
        return self.dates[i].date()


def _clean(x: pd.Series) -> pd.Series:
    x = pd.Series(x, dtype=float).dropna().sort_index()
    return x[~x.index.duplicated(keep="last")]


def _log_returns(x: pd.Series, spec: RegimeSpec, name: str) -> pd.Series:
    if (x <= 0).any():
        raise ModelError(f"model {spec.id}: {name} has non-positive values; log returns impossible")
    return (100.0 * np.log(x).diff()).dropna()


def _weekly(x: pd.Series) -> pd.Series:
    # the last observation of each Saturday..Friday week, kept on its own date (a week still in
    # progress is dated by its latest observation, never by a future Friday)
    return x.groupby(x.index.to_period("W-FRI")).tail(1)


def policy_returns(usd: pd.Series, eur: pd.Series | None, spec: RegimeSpec) -> pd.Series:
    """Daily % log returns of the rate the Bank of Russia steered: USD/RUB to BASKET_FROM, the
    basket (dates with both fixings) to FLOAT_DATE, USD/RUB after, on the CBR's own calendar.
    Without the basket series the basket era falls back to USD/RUB (documented, not an error);
    basket-era USD dates without an EUR fixing are skipped."""
    r_usd = _log_returns(usd, spec, spec.series)
    if eur is None or eur.empty:
        return r_usd
    both = pd.concat([usd.rename("u"), eur.rename("e")], axis=1).dropna()
    both = both[both.index <= FLOAT_DATE]
    if len(both) < 2:
        return r_usd
    basket = BASKET_WEIGHT * both["u"] + (1.0 - BASKET_WEIGHT) * both["e"]
    r_basket = _log_returns(basket, spec, f"the {spec.series}/{spec.basket_series} basket")
    in_basket_era = (r_basket.index > BASKET_FROM) & (r_basket.index <= FLOAT_DATE)
    out = pd.concat([r_usd[r_usd.index <= BASKET_FROM], r_basket[in_basket_era], r_usd[r_usd.index > FLOAT_DATE]])
    return out.sort_index()


def base_values(raw: Mapping[str, pd.Series], spec: RegimeSpec) -> pd.Series:
    """The spec's returns (or levels) before scaling, on the series' own observation calendar.

    Returns are `100 * diff(log x)` between consecutive *observations* (CBR has no Sunday/Monday
    rows and some Saturday rows; a return is never computed across a reindexed calendar, so no
    artificial zeros or NaN appear). `weekly_logret` (or `frequency = "W"`) first takes the last
    observation of each week ending Friday, on that observation's own date. Values before
    `spec.start` are dropped afterwards (the first return in the window still uses the previous
    level)."""
    x = _clean(raw.get(spec.series, pd.Series(dtype=float)))
    if spec.periodicity == "W":
        x = _weekly(x)
    if spec.transform == "policy_logret":
        eur = raw.get(spec.basket_series) if spec.basket_series else None
        y = policy_returns(x, None if eur is None else _clean(eur), spec)
    elif spec.transform in ("logret", "weekly_logret", "abs_logret"):
        y = _log_returns(x, spec, spec.series)
        if spec.transform == "abs_logret":
            y = y.abs()
    else:
        y = x
    y = y.dropna()
    y = y[y.index >= pd.Timestamp(spec.start)]
    y.index.name = "date"
    return y.rename(spec.id)


def transform(series: pd.Series, spec: RegimeSpec) -> pd.Series:
    """The model input `y` of a one-series spec as a Series indexed by date (see `model_input`)."""
    inp = model_input({spec.series: series}, spec)
    return pd.Series(inp.y, index=inp.dates, name=spec.id)


def baseline_scale(r: pd.Series, spec: RegimeSpec) -> pd.Series:
    """sigma_t = MAD_TO_SD x median |r| over the previous `scale_window` observations (at least
    SCALE_MIN_OBS; NaN before), bounded to [scale_floor, scale_cap]; known at t-1."""
    s = MAD_TO_SD * r.abs().rolling(spec.scale_window, min_periods=min(SCALE_MIN_OBS, spec.scale_window)).median()
    return s.shift(1).clip(lower=spec.scale_floor, upper=spec.scale_cap or None)


def model_input(raw: Mapping[str, pd.Series], spec: RegimeSpec) -> ModelInput:
    """The full input of `spec` from its raw series (`spec.inputs` -> values per date).

    base values (`base_values`) -> divided by the slow baseline (`scale_window` > 0) -> summed over
    the last `horizon` rows / sqrt(horizon); rows without a value are dropped. `gate_open` is True
    where the sum of the last `gate` base values is > 0 (the ruble weaker than a quarter ago for
    gate = 63); `fit_ok` is False where the previous PEG_WINDOW median |value| is below
    `peg_level` (a pegged rate carries no stress information)."""
    r = base_values(raw, spec)
    z = r / baseline_scale(r, spec) if spec.scale_window else r
    y = z.rolling(spec.horizon).sum() / np.sqrt(spec.horizon) if spec.horizon > 1 else z
    frame = pd.DataFrame({"y": y})
    if spec.gate:
        frame["gate_open"] = r.rolling(spec.gate).sum() > 0
    else:
        frame["gate_open"] = True
    if spec.peg_level:
        frame["fit_ok"] = r.abs().rolling(PEG_WINDOW, min_periods=PEG_MIN_OBS).median().shift(1) >= spec.peg_level
    else:
        frame["fit_ok"] = True
    frame = frame.dropna(subset=["y"])
    frame = frame[np.isfinite(frame["y"].to_numpy(dtype=float))]
    return ModelInput(dates=pd.DatetimeIndex(frame.index, name="date"), y=frame["y"].to_numpy(dtype=float),
                      fit_ok=frame["fit_ok"].fillna(False).to_numpy(dtype=bool),
                      gate_open=frame["gate_open"].fillna(False).to_numpy(dtype=bool),
                      causal=spec.periodicity == "D")
