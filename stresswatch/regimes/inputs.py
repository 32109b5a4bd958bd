"""A model's input as known on a day, read from the store's vintages.

`read_input(store, spec, asof)` is what the daily update and the read model use: each input series
as known by `asof` (the latest vintage per date with known_at <= asof), transformed. `InputHistory`
serves the backtest, which needs the input as known on every business day of a long range: it
reads every vintage once and answers `on(day)` without a store round trip. When the transform is
causal and nothing known after `day` is dated before a row of the day's view (the usual case:
each fixing is known from its own date and never revised), the day's input is a prefix of the
input of the whole history, and `on(day)` returns a slice of it; otherwise (a revision or a late
backfill, a weekly model's week in progress) it transforms that day's view itself. Both give the
same bytes (tests/regimes/test_backtest.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd

from stresswatch.regimes.spec import RegimeSpec
from stresswatch.regimes.transform import ModelInput, model_input
from stresswatch.store import Store


def read_input(store: Store, spec: RegimeSpec, asof: dt.date) -> tuple[ModelInput, dt.date | None]:
    """The model input as known on `asof`, and the latest known_at among the observations it used."""
    raw: dict[str, pd.Series] = {}
    vintage: dt.date | None = None
    for series_id in spec.inputs:
        frame = store.observations.read_vintaged(series_id, asof=asof)
        raw[series_id] = pd.Series(frame["value"].to_numpy(dtype=float),
                                   index=pd.DatetimeIndex(frame["date"], name="date"))
        if len(frame):
            known = frame["known_at"].max().date()
            vintage = known if vintage is None else max(vintage, known)
    return model_input(raw, spec), vintage


class InputHistory:
    """The input of `spec` as known on any day up to `end`, from one read of every vintage."""

    def __init__(self, store: Store, spec: RegimeSpec, end: dt.date):
        self.spec = spec
        self.end = pd.Timestamp(end)
        self._vintages = {}
        for series_id in spec.inputs:
            frame = store.observations.all_vintages(series_id)
            self._vintages[series_id] = frame[frame["known_at"] <= self.end].reset_index(drop=True)
        self.full = model_input(self._view(self.end), spec)
        # per series: vintages by known_at, the running max of their dates (what is known by a
        # day reaches this far) and the suffix min (what becomes known after it starts here)
        self._known, self._reach, self._first_later = [], [], []
        for frame in self._vintages.values():
            frame = frame.sort_values("known_at", kind="stable")
            known = frame["known_at"].to_numpy(dtype="datetime64[ns]")
            dates = frame["date"].to_numpy(dtype="datetime64[ns]")
            self._known.append(known)
            self._reach.append(np.maximum.accumulate(dates) if len(dates) else dates)
            self._first_later.append(np.minimum.accumulate(dates[::-1])[::-1] if len(dates) else dates)
        self.slow_days = 0

    def _view(self, day: pd.Timestamp) -> dict[str, pd.Series]:
        out = {}
        for series_id, frame in self._vintages.items():
            known = frame[frame["known_at"] <= day]
            latest = known.sort_values(["date", "known_at"], kind="stable").drop_duplicates("date", keep="last")
            out[series_id] = pd.Series(latest["value"].to_numpy(dtype=float),
                                       index=pd.DatetimeIndex(latest["date"], name="date"))
        return out

    def _cut(self, day: np.datetime64) -> tuple[np.datetime64 | None, np.datetime64 | None]:
        """(the latest date known by `day`, the earliest date of a vintage known after it) over the
        input series; None when there is none."""
        reach, cut = None, None
        for known, reached, first_later in zip(self._known, self._reach, self._first_later):
            i = int(np.searchsorted(known, day, side="right"))
            if i > 0:
                reach = reached[i - 1] if reach is None else max(reach, reached[i - 1])
            if i < len(known):
                cut = first_later[i] if cut is None else min(cut, first_later[i])
        return reach, cut

    def on(self, day: dt.date) -> ModelInput:
        """The input as known on `day` (equal to `read_input(store, spec, day)[0]`)."""
        stamp = np.datetime64(pd.Timestamp(day), "ns")
        reach, cut = self._cut(stamp)
        if reach is None:
            return self.full.head(0)
        if self.full.causal and (cut is None or reach < cut):
            # every observation dated before `cut` is in its final vintage and nothing later is known:
            # the day's input is the first rows of the whole history's input
            n = int(np.searchsorted(self.full.dates.values, reach, side="right"))
            return self.full.head(n)
        self.slow_days += 1
        return model_input(self._view(pd.Timestamp(day)), self.spec)

    def mark(self, day: dt.date) -> str:
        """A digest of every input vintage known by `day`: equal marks, equal data as of `day`."""
        digest = hashlib.blake2b(digest_size=12)
        stamp = pd.Timestamp(day)
        for series_id, frame in self._vintages.items():
            known = frame[frame["known_at"] <= stamp]
            digest.update(series_id.encode())
            digest.update(known["date"].to_numpy(dtype="datetime64[ns]").tobytes())
            digest.update(known["known_at"].to_numpy(dtype="datetime64[ns]").tobytes())
            digest.update(known["value"].to_numpy(dtype=float).tobytes())
        return digest.hexdigest()
