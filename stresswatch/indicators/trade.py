"""China–Russia trade indicators (monthly, when present): exports, imports, balance, 12-month log
growth and 3-month average.

Inputs (first found wins): IMF IMTS `imf.imts.CHN_RUS.XG_FOB_USD` (China's exports to Russia, FOB)
and `imf.imts.CHN_RUS.MG_CIF_USD` (China's imports from Russia, CIF); UN Comtrade
`comtrade.CHN_RUS.X` / `comtrade.CHN_RUS.M` otherwise. Values are USD as reported; series are
indexed by the first day of the reference month. Growth is computed by calendar month (t vs the
same month a year earlier), not by row position, so a missing month gives a gap, not a wrong base.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from stresswatch.indicators.registry import register
from stresswatch.indicators.windows import rolling_mean

EXPORTS = ("imf.imts.CHN_RUS.XG_FOB_USD", "comtrade.CHN_RUS.X")
IMPORTS = ("imf.imts.CHN_RUS.MG_CIF_USD", "imf.imts.CHN_RUS.MG_FOB_USD", "comtrade.CHN_RUS.M")


def monthly(s: pd.Series) -> pd.Series:
    """The series indexed by the first day of each month (last value of a month wins)."""
    s = s.dropna().sort_index()
    idx = s.index.to_period("M").to_timestamp()
    return s.groupby(idx).last().rename(s.name)


def level(s: pd.Series) -> pd.Series:
    """Monthly trade value, USD (as reported), indexed by the first day of the month."""
    return monthly(s)


def balance(exports: pd.Series, imports: pd.Series) -> pd.Series:
    """Trade balance from the reporter's side, USD: exports_t − imports_t (months with both)."""
    x, m = monthly(exports), monthly(imports)
    return (x - m).dropna().rename("balance")


def log_growth_12m(s: pd.Series) -> pd.Series:
    """12-month log growth in percent: 100·ln(x_t / x_{t−12 months}) (same calendar month a year
    earlier; NaN when that month is missing or a value is not positive)."""
    x = monthly(s)
    base = x.reindex(x.index - pd.DateOffset(months=12))
    base.index = x.index
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 * np.log(x / base)
    return out.where((x > 0) & (base > 0)).rename("growth12")


def average_3m(s: pd.Series) -> pd.Series:
    """3-month moving average, USD: (x_t + x_{t−1} + x_{t−2}) / 3 over calendar months (NaN when
    one of the three months is missing)."""
    x = monthly(s)
    full = x.reindex(pd.date_range(x.index.min(), x.index.max(), freq="MS")) if len(x) else x
    return rolling_mean(full, 3).reindex(x.index).rename("avg3m")


def first_present(candidates: tuple[str, ...], have: Mapping[str, Any] | set[str]) -> str | None:
    for c in candidates:
        if c in have:
            return c
    return None


def _one(func: Any) -> Any:
    def compute(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
        (series,) = inputs.values()
        return func(series)

    return compute


def _balance(inputs: Mapping[str, pd.Series], ctx: Mapping[str, Any]) -> pd.Series:
    x, m = inputs.values()
    return balance(x, m)


for _code, _x, _m in (("imf", EXPORTS[0], IMPORTS[0]), ("comtrade", EXPORTS[1], IMPORTS[2])):
    for _flow, _sid in (("exports", _x), ("imports", _m)):
        register(f"trade.{_code}.{_flow}", inputs=(_sid,), unit="USD per month", func=level,
                 compute=_one(level), family="trade", lookback=1, frequency="M")
        register(f"trade.{_code}.{_flow}.growth12", inputs=(_sid,), unit="% (12-month log growth)",
                 func=log_growth_12m, compute=_one(log_growth_12m), family="trade", lookback=13, frequency="M")
        register(f"trade.{_code}.{_flow}.avg3m", inputs=(_sid,), unit="USD per month (3-month average)",
                 func=average_3m, compute=_one(average_3m), family="trade", lookback=3, frequency="M")
    register(f"trade.{_code}.balance", inputs=(_x, _m), unit="USD per month", func=balance,
             compute=_balance, family="trade", lookback=1, frequency="M")
