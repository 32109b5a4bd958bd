"""Series as known on D for the report: `SeriesReader`, with an optional in-memory cache of each
series' vintages for range renders (the as-of views are cut from it with the store's rule)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from stresswatch.store import Store
from stresswatch.store.observations import SeriesEntry


class SeriesReader:
    """`read(series_id, asof, start)` with the store's as-of semantics.

    Without cache every call goes to `store.observations.read_series`. With `cache=True` each series' vintages
    are read once (all rows: date, known_at, value) and each as-of view is cut in memory: per date,
    the latest vintage with known_at <= asof — the same rule as `store.observations.read_vintaged`.
    """

    def __init__(self, store: Store, cache: bool = False):
        self.store = store
        self.cache = cache
        self._vintages: dict[str, pd.DataFrame] = {}
        self._catalog: list[SeriesEntry] | None = None

    def catalog(self) -> list[SeriesEntry]:
        """`store.observations.series_entries()` (the series and their oldest observation dates),
        read once until `refresh()`: a report asks for it from several sections."""
        if self._catalog is None:
            self._catalog = self.store.observations.series_entries()
        return self._catalog

    def refresh(self) -> None:
        """Forget the catalogue, so the next report built with this reader sees the store as it is
        now (the cached vintages of a range render are kept: they are cut by as-of date)."""
        self._catalog = None

    def ids(self, prefix: str) -> list[str]:
        """Ids of the stored series that start with `prefix`, sorted."""
        return sorted(r["id"] for r in self.catalog() if r["id"].startswith(prefix))

    def info(self, series_id: str) -> SeriesEntry | None:
        """The catalogue row of `series_id` (None when the series is not stored)."""
        for row in self.catalog():
            if row["id"] == series_id:
                return row
        return None

    def read(self, series_id: str, asof: dt.date, start: dt.date | None = None) -> pd.Series:
        """The series as known on `asof`, dated `start`..`asof` (empty when nothing is known)."""
        if not self.cache:
            return self.store.observations.read_series(series_id, start=start, end=asof, asof=asof)
        frame = self._vintages.get(series_id)
        if frame is None:
            frame = self.store.observations.all_vintages(series_id)
            self._vintages[series_id] = frame
        stamp = np.datetime64(asof, "D")
        known = frame[(frame["known_at"].to_numpy() <= stamp) & (frame["date"].to_numpy() <= stamp)]
        if start is not None:
            known = known[known["date"].to_numpy() >= np.datetime64(start, "D")]
        known = known.drop_duplicates("date", keep="last")
        if known.empty:  # same empty shape as store.observations.read_series
            return pd.Series(np.array([], dtype=float), index=pd.DatetimeIndex(pd.to_datetime([]), name="date"),
                             name=series_id)
        return pd.Series(known["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(known["date"], name="date"),
                         name=series_id)
