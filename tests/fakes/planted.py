"""Plant known data into a real Store for the alert / daily-cycle / daemon tests: the headline
model's filtered P(stress), ruble fixings, the key rate. Everything goes through the store's
public writers, point-in-time (each value known on its own date)."""

from __future__ import annotations

import datetime as dt
from typing import Sequence

import pandas as pd

from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.regimes.runs import store_filtered_probabilities




def business_days(start: dt.date, n: int) -> list[dt.date]:
    return [d.date() for d in pd.bdate_range(start, periods=n)]


def episode(days: Sequence[dt.date], first_high: int, last_high: int, high: float = 0.9, low: float = 0.05) -> pd.Series:
    """P(stress) low, then high on days[first_high..last_high] (inclusive), then low again."""
    values = [high if first_high <= i <= last_high else low for i in range(len(days))]
    return pd.Series(values, index=pd.DatetimeIndex(pd.to_datetime(list(days)), name="date"))


def plant_probabilities(store, model: str, probs: pd.Series) -> None:
    """Filtered P(stress) of `model` per date, each known on its own date."""
    store_filtered_probabilities(store, model, probs)


def plant_fx(store, values: dict[dt.date, float], currency: str = "USD") -> None:
    sid = f"cbr.fx.{currency}"
    store.observations.upsert_series([SeriesInfo(sid, "cbr", f"RUB per 1 {currency}", "RUB", "D")])
    for day, value in sorted(values.items()):
        store.observations.write_observations([Observation(sid, day, value)], fetched_at=dt.datetime.combine(
            day, dt.time(12), tzinfo=dt.timezone.utc))


def plant_keyrate(store, values: dict[dt.date, float]) -> None:
    store.observations.upsert_series([SeriesInfo("cbr.keyrate", "cbr", "Bank of Russia key rate", "percent", "D")])
    for day, value in sorted(values.items()):
        store.observations.write_observations([Observation("cbr.keyrate", day, value)], fetched_at=dt.datetime.combine(
            day, dt.time(12), tzinfo=dt.timezone.utc))
