"""Market indicators (when present): Brent crude (`fred.DCOILBRENTEU`, USD per barrel) and the
MOEX Russia index (`moex.index.IMOEX`, points) — log returns, realised volatility and CMAX.

Business-day grid as in `calendar.to_business_days`; exchange holidays repeat the last close
(zero return). The 2022-02-25..03-23 MOEX closure therefore shows as flat prices carried forward
(at most `STALE_LIMIT` business days; longer gaps become missing, not fake calm).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from stresswatch.indicators.registry import register
from stresswatch.indicators.calendar import BDAYS_PER_YEAR, to_business_days
from stresswatch.indicators.windows import rolling_std

BRENT = "fred.DCOILBRENTEU"
IMOEX = "moex.index.IMOEX"
CMAX_WINDOW = 504
STALE_LIMIT = 25


def price_log_return(price: pd.Series, end: pd.Timestamp | None = None) -> pd.Series:
    """Daily log return in percent: 100·ln(p_t / p_{t−1}) on business days (close in force; the
    grid runs to `end`, the as-of date, when given)."""
    p = to_business_days(price, end=end, limit=STALE_LIMIT)
    return (100.0 * np.log(p).diff()).rename("logret")


def price_volatility(price: pd.Series, window: int = 20, end: pd.Timestamp | None = None) -> pd.Series:
    """Realised volatility, % per year: std(daily log returns over `window` business days,
    ddof=1)·√252. Needs a full window."""
    r = price_log_return(price, end)
    return (rolling_std(r, window) * np.sqrt(BDAYS_PER_YEAR)).rename(f"rv{window}")


def price_cmax(price: pd.Series, window: int = CMAX_WINDOW, end: pd.Timestamp | None = None) -> pd.Series:
    """CMAX, percent below the 2-year high: 100·(1 − p_t / max(p_{t−window+1..t})), business days;
    needs 63 days of history."""
    p = to_business_days(price, end=end, limit=STALE_LIMIT)
    high = p.rolling(window, min_periods=min(window, 63)).max()
    return (100.0 * (1.0 - p / high)).rename("cmax")


def _one(func: Any, **kw: Any) -> Any:
    def compute(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
        (series,) = inputs.values()
        return func(series, end=ctx.get("end"), **kw)

    return compute


for _name, _sid, _unit in (("brent", BRENT, "USD per barrel"), ("imoex", IMOEX, "index points")):
    register(f"markets.{_name}.logret", inputs=(_sid,), unit="% (log)", func=price_log_return,
             compute=_one(price_log_return), family="markets", lookback=2)
    register(f"markets.{_name}.rv20", inputs=(_sid,), unit="% per year (annualised)", func=price_volatility,
             compute=_one(price_volatility, window=20), family="markets", lookback=21)
    register(f"markets.{_name}.cmax", inputs=(_sid,), unit="% below 2-year high", func=price_cmax,
             compute=_one(price_cmax), family="markets", lookback=CMAX_WINDOW)
