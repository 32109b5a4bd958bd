"""Exchange-market pressure (EMP), Eichengreen–Rose–Wyplosz style without reserves:

    EMP_t = %Δe_t / σ_e,t + Δi_t / σ_i,t

e = RUB per USD (`cbr.fx.USD`), i = policy rate (% per year: the key rate, before Sep 2013 the
BIS policy rate for Russia when stored). Changes are over h = 21 business days (about a month,
overlapping): %Δe_t = 100·ln(e_t / e_{t−h}), Δi_t = i_t − i_{t−h} in percentage points.
σ are rolling standard deviations of those changes over the trailing 1260 business days
(~5 years, including t; at least 250 days), so each term is measured in its own recent
volatility units and no future data enter. When σ_i = 0 (no rate move in the window) or the rate
is missing, the rate term is 0. Positive EMP = pressure towards ruble depreciation (weaker ruble
and/or tighter policy). Reserves are left out: Russia's are partly frozen since 2022 and valuation
(gold, CNY) dominates weekly changes (METHODS.md §1.6).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from stresswatch.indicators.registry import register
from stresswatch.indicators.calendar import DAILY_STALE_LIMIT, to_business_days
from stresswatch.indicators.rates import BIS_RUSSIA, KEYRATE, policy_rate
from stresswatch.indicators.windows import rolling_std

HORIZON = 21
SIGMA_WINDOW = 1260
SIGMA_MIN = 250


def exchange_market_pressure(rate: pd.Series, policy: pd.Series | None = None, horizon: int = HORIZON,
                             sigma_window: int = SIGMA_WINDOW, sigma_min: int = SIGMA_MIN,
                             end: pd.Timestamp | None = None) -> pd.Series:
    """EMP_t = %Δe_t/σ_e + Δi_t/σ_i (standard-deviation units), h-business-day changes, trailing
    rolling σ; see the module docstring for the exact definitions. The business-day grid runs to
    `end` (the as-of date) when given, the rate carried as in `fx`."""
    e = to_business_days(rate, end=end, limit=DAILY_STALE_LIMIT)
    de = 100.0 * np.log(e / e.shift(horizon))
    sd_e = rolling_std(de, sigma_window, sigma_min)
    out = de / sd_e
    if policy is not None and not policy.dropna().empty:
        i = to_business_days(policy, end=e.index[-1]).reindex(e.index)
        di = i - i.shift(horizon)
        sd_i = rolling_std(di, sigma_window, sigma_min)
        term = (di / sd_i).where(sd_i > 1e-12, 0.0).fillna(0.0)
        out = out + term
    return out.rename("emp")


def _emp(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
    policy = None
    if KEYRATE in inputs or BIS_RUSSIA in inputs:
        policy = policy_rate(inputs.get(KEYRATE, pd.Series(dtype=float)), inputs.get(BIS_RUSSIA))
    return exchange_market_pressure(inputs["cbr.fx.USD"], policy, end=ctx.get("end"))


register("emp", inputs=("cbr.fx.USD",), optional_inputs=(KEYRATE, BIS_RUSSIA), fallbacks=((BIS_RUSSIA, KEYRATE),),
         unit="standard deviations",
         func=exchange_market_pressure, compute=_emp, family="emp", lookback=SIGMA_WINDOW + HORIZON)
