"""Ruble exchange-rate indicators from Bank of Russia official rates (`cbr.fx.<ISO>`, RUB per 1 unit).

All functions take the stored, reference-dated series (CBR: dated by the day the rate is in
force, Saturday rows included, no Sunday/Monday/holiday rows) and work on the business-day grid
of `calendar.to_business_days` (value in force each Monday..Friday; a day without a new fixing
repeats the previous value, i.e. a zero return, for at most `DAILY_STALE_LIMIT` business days).
`end` (the as-of date of a compute) extends that grid past the last fixing by the same rule, so
the value on a day is the same whether it is computed that day or years later.

Depreciation is reported under two labelled definitions, because they differ:
  * `rub_per_unit`: % change in RUB per unit of foreign currency, 100·(e_t/e_0 − 1);
    70.34 → 101.04 is +43.6 %.
  * `ruble_value`: % change of the ruble's value in foreign currency, 100·(e_0/e_t − 1);
    70.34 → 101.04 is −30.4 % (a 30.4 % loss of value).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from stresswatch.indicators.registry import register
from stresswatch.indicators.calendar import BDAYS_PER_YEAR, DAILY_STALE_LIMIT, to_business_days
from stresswatch.indicators.windows import rolling_std

CMAX_WINDOW = 504  # business days, ~2 years (CISS)
HORIZONS = ("1d", "1m", "ytd", "12m")
#: business-day rows each horizon can reach back (for dating when a value became known)
HORIZON_LOOKBACK = {"1d": 2, "1m": 24, "ytd": 262, "12m": 262}


def log_return(rate: pd.Series, end: pd.Timestamp | None = None) -> pd.Series:
    """Daily log return of RUB per unit, in percent: r_t = 100·ln(e_t / e_{t−1}) on business days.

    Positive = the ruble weakened. Business-day grid: value in force each Mon..Fri (Saturday
    fixings count from Monday; holidays repeat the last fixing, giving a zero return)."""
    e = to_business_days(rate, end=end, limit=DAILY_STALE_LIMIT)
    return (100.0 * np.log(e).diff()).rename("logret")


def realised_volatility(rate: pd.Series, window: int = 20, end: pd.Timestamp | None = None) -> pd.Series:
    """Realised volatility of the daily log return, annualised, in percent per year:
    σ_t = std(r_{t−window+1..t}, ddof=1) · √252, with r the business-day log return in percent.
    Needs a full window."""
    r = log_return(rate, end)
    return (rolling_std(r, window) * np.sqrt(BDAYS_PER_YEAR)).rename(f"rv{window}")


def cmax_ruble_value(rate: pd.Series, window: int = CMAX_WINDOW, end: pd.Timestamp | None = None) -> pd.Series:
    """CMAX of the ruble's value over a 2-year window, in percent (0 = at its 2-year high):
    CMAX_t = 100·(1 − v_t / max(v_{t−window+1..t})) with v = 1/e (foreign currency per RUB),
    i.e. 100·(1 − min(e over the window) / e_t). Business-day grid; needs 63 days of history."""
    e = to_business_days(rate, end=end, limit=DAILY_STALE_LIMIT)
    low = e.rolling(window, min_periods=min(window, 63)).min()
    return (100.0 * (1.0 - low / e)).rename("cmax")


def base_rate(rate: pd.Series, days: pd.DatetimeIndex, horizon: str) -> pd.Series:
    """The rate each depreciation figure compares with (e_0), for each day in `days`:
    1d = the previous business day's rate in force; 1m / 12m = the rate in force one / twelve
    calendar months earlier; ytd = the rate in force on 31 December of the previous year."""
    s = rate.dropna().sort_index()
    if horizon == "1d":
        e = to_business_days(s, end=days[-1] if len(days) else None, limit=DAILY_STALE_LIMIT)
        return e.shift(1).reindex(days)
    if horizon == "1m":
        targets = days - pd.DateOffset(months=1)
    elif horizon == "12m":
        targets = days - pd.DateOffset(months=12)
    elif horizon == "ytd":
        targets = days.to_period("Y").to_timestamp() - pd.Timedelta(days=1)  # 31 Dec of the year before
    else:
        raise ValueError(f"unknown horizon {horizon!r}; use one of {', '.join(HORIZONS)}")
    pos = s.index.searchsorted(targets, side="right") - 1
    vals = np.where(pos >= 0, s.to_numpy(dtype=float)[np.clip(pos, 0, None)], np.nan)
    return pd.Series(vals, index=days)


def depreciation_rub_per_unit(rate: pd.Series, horizon: str = "1m", end: pd.Timestamp | None = None) -> pd.Series:
    """Depreciation as the % change in RUB per unit of foreign currency: 100·(e_t / e_0 − 1).

    e_t = rate in force on the business day; e_0 from `base_rate` (1d, 1m, ytd, 12m).
    Example: 70.34 → 101.04 is +43.6 %. Positive = the ruble weakened."""
    e = to_business_days(rate, end=end, limit=DAILY_STALE_LIMIT)
    e0 = base_rate(rate, e.index, horizon)
    return (100.0 * (e / e0 - 1.0)).rename(f"dep_rub_per_unit_{horizon}")


def ruble_value_change(rate: pd.Series, horizon: str = "1m", end: pd.Timestamp | None = None) -> pd.Series:
    """Depreciation as the % change of the ruble's value in foreign currency: 100·(e_0 / e_t − 1).

    Same e_t, e_0 as `depreciation_rub_per_unit`. Example: 70.34 → 101.04 is −30.4 %
    (the ruble lost 30.4 % of its value). Negative = the ruble weakened."""
    e = to_business_days(rate, end=end, limit=DAILY_STALE_LIMIT)
    e0 = base_rate(rate, e.index, horizon)
    return (100.0 * (e0 / e - 1.0)).rename(f"ruble_value_{horizon}")


def _single(func: Any, **kwargs: Any) -> Any:
    def compute(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
        (series,) = inputs.values()
        return func(series, end=ctx.get("end"), **kwargs)

    return compute


_RATE = ("cbr.fx.{code}",)
register("fx.logret.{code}", inputs=_RATE, unit="% (log, RUB per unit)", func=log_return,
         compute=_single(log_return), family="fx", lookback=2)
for _w in (20, 60):
    register(f"fx.rv{_w}.{{code}}", inputs=_RATE, unit="% per year (annualised)", func=realised_volatility,
             compute=_single(realised_volatility, window=_w), family="fx", lookback=_w + 1)
register("fx.cmax.{code}", inputs=_RATE, unit="% below 2-year high of the ruble's value", func=cmax_ruble_value,
         compute=_single(cmax_ruble_value), family="fx", lookback=CMAX_WINDOW)
for _h in HORIZONS:
    register(f"fx.dep.rub_per_unit.{_h}.{{code}}", inputs=_RATE, unit="% change in RUB per unit",
             func=depreciation_rub_per_unit, compute=_single(depreciation_rub_per_unit, horizon=_h),
             family="fx", lookback=HORIZON_LOOKBACK[_h])
    register(f"fx.dep.ruble_value.{_h}.{{code}}", inputs=_RATE, unit="% change of the ruble's value",
             func=ruble_value_change, compute=_single(ruble_value_change, horizon=_h),
             family="fx", lookback=HORIZON_LOOKBACK[_h])
