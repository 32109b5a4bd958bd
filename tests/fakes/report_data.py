"""Known data for the report tests: a small, deterministic history written into a real Store
through its public writers, a settings file with a fast 2-regime headline model and a tiny
statement catalogue (one entry carries HTML to check escaping).

Everything is point-in-time: an observation is fetched on its own date (known_at = date), monthly
series carry a publication lag, so "as of D" views are meaningful.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from stresswatch.fetchers.base import Observation, SeriesInfo

START = dt.date(2022, 1, 3)
END = dt.date(2023, 8, 18)
REPORT_DAY = dt.date(2023, 8, 16)
HOSTILE = '<script>alert("x")</script> & <b>bold</b> | pipe'

KEYRATE_CHANGES = {
    dt.date(2022, 1, 3): 8.5, dt.date(2022, 2, 14): 9.5, dt.date(2022, 2, 28): 20.0, dt.date(2022, 4, 11): 17.0,
    dt.date(2022, 5, 4): 14.0, dt.date(2022, 5, 27): 11.0, dt.date(2022, 6, 14): 9.5, dt.date(2022, 7, 25): 8.0,
    dt.date(2022, 9, 19): 7.5, dt.date(2023, 7, 24): 8.5, dt.date(2023, 8, 15): 12.0,
}


def business_days(start: dt.date = START, end: dt.date = END) -> list[dt.date]:
    return [d.date() for d in pd.bdate_range(start, end)]


def usd_path(days: list[dt.date]) -> pd.Series:
    """RUB per USD: a calm random walk with a volatile spell in spring 2022 and in August 2023."""
    rng = np.random.default_rng(20230816)
    vol = np.array([2.5 if dt.date(2022, 2, 24) <= d <= dt.date(2022, 4, 15) or d >= dt.date(2023, 7, 20) else 0.45
                    for d in days])
    drift = np.array([0.5 if d >= dt.date(2023, 7, 20) else 0.0 for d in days])
    steps = rng.normal(drift, vol) / 100.0
    return pd.Series(74.0 * np.exp(np.cumsum(steps)), index=pd.DatetimeIndex(pd.to_datetime(days), name="date"))


def em_per_usd(days: list[dt.date]) -> dict[str, pd.Series]:
    """Units of each EM currency per USD (TRY weakens a lot, INR a little, CNY is steady)."""
    n = len(days)
    t = np.linspace(0.0, 1.0, n)
    idx = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    return {"TRY": pd.Series(13.5 * np.exp(0.75 * t), index=idx),
            "INR": pd.Series(74.5 * np.exp(0.10 * t), index=idx),
            "CNY": pd.Series(6.36 * np.exp(0.12 * t), index=idx)}


def write_batch(store, sid: str, values: pd.Series, fetched: dt.datetime) -> None:
    """Observations fetched together at `fetched` (known at min(fetch date, date + lag))."""
    store.observations.write_observations([Observation(sid, d.date(), float(v)) for d, v in values.items()],
                                          fetched_at=fetched)


def fill_store(store, end: dt.date = END) -> dict[str, pd.Series]:
    """Write the known history up to `end`; returns the written series by id."""
    days = business_days(START, end)
    idx = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    usd = usd_path(business_days(START, END)).loc[:pd.Timestamp(end)]
    out: dict[str, pd.Series] = {"cbr.fx.USD": usd, "cbr.fx.EUR": usd * 1.08}
    for code, per_usd in em_per_usd(business_days(START, END)).items():
        out[f"cbr.fx.{code}"] = (usd / per_usd.loc[:pd.Timestamp(end)])
    fetched = dt.datetime.combine(end, dt.time(16), tzinfo=dt.timezone.utc)
    # one batch per series fetched on `end`: with no publication lag each value is known on its own
    # date (known_at = min(fetch date, date + lag) = date)
    for sid, s in out.items():
        store.observations.upsert_series([SeriesInfo(sid, "cbr", f"Bank of Russia official rate, RUB per 1 {sid[-3:]}",
                                                     f"RUB per 1 {sid[-3:]}", "D", 0)])
        write_batch(store, sid, s, fetched)
    kr_days = sorted(d for d in KEYRATE_CHANGES if d <= end)
    keyrate = pd.Series([KEYRATE_CHANGES[d] for d in kr_days], index=pd.DatetimeIndex(pd.to_datetime(kr_days)))
    store.observations.upsert_series([SeriesInfo("cbr.keyrate", "cbr", "Bank of Russia key rate", "percent", "D", 0)])
    write_batch(store, "cbr.keyrate", keyrate, fetched)
    out["cbr.keyrate"] = keyrate
    # BIS monthly-style policy rates with a 20-day publication lag
    months = pd.date_range("2022-01-01", end, freq="MS")
    us = pd.Series(np.round(np.linspace(0.25, 5.5, len(months)), 2), index=months)
    tr = pd.Series(np.round(np.linspace(14.0, 17.5, len(months)), 2), index=months)
    for sid, s in (("bis.cbpol.US", us), ("bis.cbpol.TR", tr)):
        store.observations.upsert_series([SeriesInfo(sid, "bis", f"Central bank policy rate, {sid[-2:]} (BIS)",
                                                     "percent", "D", 20)])
        write_batch(store, sid, s, dt.datetime.combine(end, dt.time(18), tzinfo=dt.timezone.utc))
        out[sid] = s
    # composite index and its pieces (derived, point-in-time)
    t = np.arange(len(idx))
    base = 0.08 + 0.05 * np.sin(t / 17.0) ** 2
    spike = np.array([0.35 if dt.date(2022, 2, 24) <= d <= dt.date(2022, 4, 15) or d >= dt.date(2023, 8, 7) else 0.0
                      for d in days])
    index = pd.Series(np.clip(base + spike, 0, 1), index=idx)
    store.observations.write_derived(SeriesInfo("stress.index", "compute", "Composite stress index", "index (0-1)",
                                                "D"), index)
    for seg, share in (("fx", 0.6), ("policy", 0.4)):
        store.observations.write_derived(SeriesInfo(f"stress.contrib.{seg}", "compute", f"contribution {seg}", "index",
                                                    "D"),
                                         index * share)
        store.observations.write_derived(SeriesInfo(f"stress.segment.{seg}", "compute", f"segment {seg}", "0-1", "D"),
                                         (index * 1.5).clip(0, 1))
    out["stress.index"] = index
    # China -> Russia exports, monthly, published with a 45-day lag
    trade_months = pd.date_range("2022-01-01", end, freq="MS")
    exports = pd.Series(np.linspace(6.0e9, 9.5e9, len(trade_months)), index=trade_months)
    store.observations.upsert_series([SeriesInfo("imf.imts.CHN_RUS.XG_FOB_USD", "imf", "IMF IMTS CHN->RUS exports FOB",
                                                 "USD", "M",
                                                 45)])
    write_batch(store, "imf.imts.CHN_RUS.XG_FOB_USD", exports, dt.datetime.combine(end, dt.time(18),
                                                                                  tzinfo=dt.timezone.utc))
    out["imf.imts.CHN_RUS.XG_FOB_USD"] = exports
    return out


CATALOGUE = f'''
[[statement]]
id = "early-statement-2022"
date = 2022-06-15
speaker = "Speaker One"
role = "Minister"
country = "RU"
venue = "Somewhere"
key_phrase = "a plain early phrase"
summary = "An early statement in our own words."
tags = ["partnership"]
source = {{ outlet = "Outlet", url = "https://example.org/early" }}

[[statement]]
id = "hostile-text-2023"
date = 2023-08-15
speaker = "Speaker <i>Two</i>"
role = "Minister"
country = "CN"
venue = "Moscow"
key_phrase = '{HOSTILE}'
summary = "Summary with <img src=x onerror=alert(1)> inside."
tags = ["alliance", "military"]
source = {{ outlet = "Outlet", url = "https://example.org/hostile" }}
'''


def write_config(tmp_path: Path, **extra: str) -> Path:
    """A settings file: store and reports in tmp_path, a fast 2-regime headline model on USD log
    returns, the small catalogue above, few placebos."""
    (tmp_path / "statements.toml").write_text(CATALOGUE, encoding="utf-8")
    lines = [
        "[store]", f'path = "{tmp_path / "sw.db"}"',
        "[report]", f'out = "{tmp_path / "reports"}"', 'em_currencies = ["TRY", "INR", "CNY", "BRL"]',
        "[regimes]", 'headline = "t2"', "search_reps = 2", "seeds = [1]",
        "[[regimes.models]]", 'id = "t2"', 'series = "cbr.fx.USD"', 'transform = "logret"', "k_regimes = 2",
        "start = 2022-01-01",
        "[events]", f'catalogue = "{tmp_path / "statements.toml"}"', "placebos = 200", "k = 5",
        "estimation_window = 60",
    ]
    for key, value in extra.items():
        lines.append(f"# extra {key}\n{value}")
    path = tmp_path / "stresswatch.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
