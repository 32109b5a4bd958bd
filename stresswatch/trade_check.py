"""How far UN Comtrade and IMF IMTS disagree on China–Russia trade, on the months both report.

Both sources relay China's customs figures, so on a common month they should agree up to
revisions and valuation (IMF imports are CIF, as are Comtrade's primary import values). A large or
growing gap means one source is stale, revised or mis-parsed. `compare` is a pure function of two
monthly series; `status_extra(store, settings)` reads the stored series as known now and returns
the block the `status` command prints.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from stresswatch.settings import Settings
from stresswatch.store import Store

#: (label, Comtrade flow, IMF indicator)
PAIRS = (("exports", "X", "XG_FOB_USD"), ("imports", "M", "MG_CIF_USD"))


def _monthly(series: pd.Series) -> pd.Series:
    """Values keyed by calendar month (Period 'M'); NaN dropped; several values in one month
    (should not happen for monthly data) are averaged."""
    s = pd.Series(series, dtype="float64").dropna()
    if s.empty:
        return pd.Series(dtype="float64", index=pd.PeriodIndex([], freq="M"))
    index = pd.DatetimeIndex(pd.to_datetime(s.index)).to_period("M")
    return s.groupby(index).mean().sort_index()


def compare(comtrade: pd.Series, imf: pd.Series) -> dict[str, Any]:
    """Disagreement on common months, as relative differences (Comtrade - IMF) / IMF.

    Returns common_months, first/last common month ("YYYY-MM"), median and max absolute relative
    difference (fractions, e.g. 0.012 = 1.2%), the month of the max, the signed mean relative
    difference, and months present in only one source. Months where the IMF value is 0 are left
    out of the ratios (counted in `zero_months`). Pure.
    """
    a, b = _monthly(comtrade), _monthly(imf)
    common = a.index.intersection(b.index)
    out: dict[str, Any] = {
        "common_months": 0, "first": None, "last": None, "median_abs_rel_diff": None,
        "max_abs_rel_diff": None, "max_month": None, "mean_rel_diff": None, "zero_months": 0,
        "only_comtrade": int(len(a.index.difference(b.index))),
        "only_imf": int(len(b.index.difference(a.index))),
    }
    if len(common) == 0:
        return out
    ca, cb = a.loc[common], b.loc[common]
    nonzero = cb != 0
    out["zero_months"] = int((~nonzero).sum())
    rel = ((ca[nonzero] - cb[nonzero]) / cb[nonzero].abs()).astype("float64")
    out["common_months"] = int(len(common))
    out["first"], out["last"] = str(common.min()), str(common.max())
    if not rel.empty:
        absrel = rel.abs()
        out["median_abs_rel_diff"] = float(absrel.median())
        out["max_abs_rel_diff"] = float(absrel.max())
        out["max_month"] = str(absrel.idxmax())
        out["mean_rel_diff"] = float(rel.mean())
    return out


def describe(label: str, result: dict[str, Any]) -> str:
    """One line for humans: 'exports: 24 common months 2022-01..2023-12, median |diff| 0.4%, max 3.1% (2022-02)'."""
    if not result["common_months"]:
        return (f"{label}: no common months (Comtrade only {result['only_comtrade']}, "
                f"IMF only {result['only_imf']})")
    med, mx = result["median_abs_rel_diff"], result["max_abs_rel_diff"]
    if med is None or mx is None or math.isnan(med):
        return f"{label}: {result['common_months']} common months, IMF values all zero"
    return (f"{label}: {result['common_months']} common months {result['first']}..{result['last']}, "
            f"median |diff| {med:.1%}, max {mx:.1%} ({result['max_month']})")


def status_extra(store: Store, settings: Settings, asof: Any = None) -> dict[str, Any]:
    """The `status` block: {"trade_check": {"exports": {...}, "imports": {...}, "summary": [lines]}}.

    Series ids follow the configured pair (`[sources.comtrade] pair`, `[sources.imf] reporter`,
    `partner`); values as known at `asof` (default: latest vintages)."""
    comtrade_pair = _setting(settings, "comtrade", "pair", "CHN_RUS")
    imf_pair = f"{_setting(settings, 'imf', 'reporter', 'CHN')}_{_setting(settings, 'imf', 'partner', 'RUS')}"
    block: dict[str, Any] = {"summary": []}
    for label, flow, indicator in PAIRS:
        comtrade_id = f"comtrade.{comtrade_pair}.{flow}"
        imf_id = f"imf.imts.{imf_pair}.{indicator}"
        result = compare(_read(store, comtrade_id, asof), _read(store, imf_id, asof))
        result.update({"comtrade_series": comtrade_id, "imf_series": imf_id})
        block[label] = result
        block["summary"].append(describe(label, result))
    return {"trade_check": block}


def _setting(settings: Settings, source: str, key: str, default: str) -> str:
    try:
        return str(settings.source(source).get(key) or default)
    except (KeyError, AttributeError):
        return default


def _read(store: Store, series_id: str, asof: Any) -> pd.Series:
    """A stored series as known at `asof` (an unknown series reads as empty)."""
    return store.observations.read_series(series_id, asof=asof)
