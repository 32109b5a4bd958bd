"""The Python API for notebooks: one entry point, `stresswatch.open()`, and the `Monitor` it returns.

    import stresswatch as sw
    db = sw.open()                                   # the configured store, read-only
    db.series("cbr.fx.USD", asof="2023-08-15")       # a pandas Series, as known on that date
    db.regime_probabilities(asof="2023-08-16")       # DataFrame: regime, P(stress) per period
    db.statements(asof="2023-08-16")                 # the catalogue aligned with the regimes

Every answer is "as of" a date (default: today in the `[daemon] timezone`): only what was
published by then is used, exactly as the CLI and the report use it — the same store gateways,
`regimes.state.RegimeState`, `events.align` and `compute.show`. Answers are pandas objects.

The store is opened read-only (`Store.open_readonly`: nothing is created, migrated or written; a
daemon may write beside it). The one method that writes is `compute`, which opens the store for
writing under the single-instance lock, computes the analysis as of a date, and closes it again.
A question whose analysis is not stored (no stress index, no model run as of the date) raises
`errors.AnalysisMissing` naming the `compute` call that makes it. docs/api.md documents every
method with the Shoigu example; this interface is stable across minor versions.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pandas as pd

from stresswatch import clock as clock_mod
from stresswatch.clock import Clock
from stresswatch.compute import ComputeResult, compute, show
from stresswatch.errors import AnalysisMissing, UsageError
from stresswatch.events import align as ev_align
from stresswatch.indicators import expand, load_all
from stresswatch.lock import single_instance
from stresswatch.regimes.state import RegimeState, regime_state
from stresswatch.settings import Settings, load
from stresswatch.store import Store
from stresswatch.store.database import as_date

__all__ = ["Monitor", "open_monitor", "DateLike"]

DateLike = dt.date | str | pd.Timestamp

#: columns of `Monitor.statements`
STATEMENT_COLUMNS = ("id", "date", "t0", "speaker", "key_phrase", "tags", "regime", "p_stress_filtered",
                     "p_stress_smoothed", "index", "index_percentile", "d_index", "abnormal", "pre_trend", "car_rub",
                     "p_value", "q_value", "confounded", "confounders")
#: the composite index and its parts, as `compute` stores them
STRESS_INDEX = "stress.index"


def _date(value: DateLike | None, what: str = "asof") -> dt.date | None:
    if value is None:
        return None
    try:
        return as_date(value)
    except ValueError:
        raise UsageError(f"{what}={value!r} is not a date (YYYY-MM-DD)") from None


class Monitor:
    """A stresswatch store opened for reading, answering as of any date. Use `stresswatch.open()`."""

    def __init__(self, store: Store, settings: Settings, clock: Clock | None = None):
        self.store = store
        self.settings = settings
        self.clock: Clock = clock or clock_mod.system_clock

    # -- housekeeping ---------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The store file."""
        return self.store.path

    def today(self) -> dt.date:
        """The default `asof`: today in the `[daemon] timezone`, as for every command."""
        return clock_mod.today(self.clock, self.settings)

    def _asof(self, asof: DateLike | None) -> dt.date:
        return _date(asof) or self.today()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "Monitor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<stresswatch.Monitor {self.path} (read-only)>"

    # -- series ---------------------------------------------------------------------------------
    def list_series(self) -> pd.DataFrame:
        """Every stored series: DataFrame[id, source, name, unit, frequency, first, last, count]."""
        rows = self.store.observations.list_series()
        columns = ["id", "source", "name", "unit", "frequency", "first", "last", "count"]
        return pd.DataFrame([{c: r[c] for c in columns} for r in rows], columns=columns)  # type: ignore[literal-required]

    def series(self, series_id: str, asof: DateLike | None = None, start: DateLike | None = None,
               end: DateLike | None = None) -> pd.Series:
        """One stored series as known on `asof` (per date, the latest vintage known by then),
        dated `start`..`end` (default: everything up to `asof`). Empty when nothing is known."""
        day = self._asof(asof)
        if self.store.observations.series_info(series_id) is None:
            raise UsageError(f"no series {series_id!r} in {self.path}; see list_series()")
        last = min(_date(end, "end") or day, day)
        return self.store.observations.read_series(series_id, start=_date(start, "start"), end=last, asof=day)

    def vintages(self, series_id: str) -> pd.DataFrame:
        """Every stored vintage of a series: DataFrame[date, known_at, value] (a revision is a row
        with a later known_at)."""
        if self.store.observations.series_info(series_id) is None:
            raise UsageError(f"no series {series_id!r} in {self.path}; see list_series()")
        return self.store.observations.all_vintages(series_id)

    # -- indicators and the index -----------------------------------------------------------------
    def indicators(self) -> pd.DataFrame:
        """The registered indicators: DataFrame[id, family, unit, inputs, available, description],
        `available` listing the concrete ids this store's series allow."""
        have = {r["id"] for r in self.store.observations.list_series()}
        concrete: dict[str, list[str]] = {}
        for cid, ind, _ in expand(have):
            concrete.setdefault(ind.id, []).append(cid)
        rows = [{"id": ind.id, "family": ind.family, "unit": ind.unit, "inputs": list(ind.inputs),
                 "available": concrete.get(ind.id, []), "description": ind.summary} for ind in load_all().values()]
        return pd.DataFrame(rows, columns=["id", "family", "unit", "inputs", "available", "description"])

    def indicator(self, indicator_id: str, asof: DateLike | None = None, start: DateLike | None = None,
                  end: DateLike | None = None) -> pd.Series:
        """One indicator (e.g. "fx.dep.rub_per_unit.ytd.USD") computed from the stored inputs as
        known on `asof`, keeping only values known by then; nothing is written."""
        day = self._asof(asof)
        frame = show(self.store, self.settings, indicator_id, day)
        out = pd.Series(frame["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(frame["date"], name="date"),
                        name=indicator_id)
        first, last = _date(start, "start"), _date(end, "end") or day
        if first is not None:
            out = out[out.index >= pd.Timestamp(first)]
        return out[out.index <= pd.Timestamp(last)]

    def stress_index(self, asof: DateLike | None = None, start: DateLike | None = None,
                     end: DateLike | None = None) -> pd.Series:
        """The composite stress index (0..1) as `compute` stored it, as known on `asof`.
        AnalysisMissing when no value is known then."""
        day = self._asof(asof)
        out = self.store.observations.read_series(STRESS_INDEX, start=_date(start, "start"),
                                                  end=min(_date(end, "end") or day, day), asof=day)
        if out.empty and self.store.observations.read_series(STRESS_INDEX, end=day, asof=day).empty:
            raise AnalysisMissing(f"no value of {STRESS_INDEX} is known on {day} in {self.path}; "
                                  f"call compute('{day}') (or run `stresswatch compute --asof {day}`)")
        return out

    def stress_components(self, asof: DateLike | None = None, start: DateLike | None = None) -> pd.DataFrame:
        """The index's segments and their contributions as known on `asof`: one column per stored
        `stress.segment.*` and `stress.contrib.*` series (the contributions add up to the index)."""
        day = self._asof(asof)
        ids = sorted(r["id"] for r in self.store.observations.list_series()
                     if r["id"].startswith(("stress.segment.", "stress.contrib.")))
        columns = {sid: self.store.observations.read_series(sid, start=_date(start, "start"), end=day, asof=day)
                   for sid in ids}
        return pd.DataFrame(columns)

    # -- regimes --------------------------------------------------------------------------------
    def regimes(self, asof: DateLike | None = None, model: str | None = None) -> RegimeState:
        """The regime read model as of `asof` (default model: the headline): the regime on its last
        observation, P(stress), days in regime, the forecast, `.frame()`, `.episodes()` and which
        run and fit produced the numbers (`.run`, `.fit`). Check `.available` (and `.message`)."""
        return regime_state(self.store, self.settings, self._asof(asof), model)

    def _available(self, asof: DateLike | None, model: str | None) -> RegimeState:
        state = self.regimes(asof, model)
        if not state.available:
            raise AnalysisMissing(f"{state.message} in {self.path}; call compute('{state.asof}') "
                                  f"(or run `stresswatch compute --asof {state.asof}`)")
        return state

    def regime_probabilities(self, asof: DateLike | None = None, model: str | None = None,
                             full: bool = False) -> pd.DataFrame:
        """Per model period of the run as of `asof`: regime (the read model's rule),
        p_stress_filtered, p_stress_smoothed (hindsight), basis (real-time or hindsight) and fit_asof
        (the fit that produced the row); `full` adds every regime's
        probabilities. Indexed by date. AnalysisMissing when no run exists as of `asof`."""
        frame = self._available(asof, model).frame(full=full)
        return frame.set_index(pd.DatetimeIndex(frame["date"], name="date")).drop(columns="date")

    def episodes(self, asof: DateLike | None = None, model: str | None = None,
                 basis: str = "smoothed") -> pd.DataFrame:
        """The stress episodes of the run as of `asof` on the given basis ("smoothed" or
        "filtered"): DataFrame[start, end, peak, peak_p, mean_p, length, ongoing] (length in
        model periods)."""
        state = self._available(asof, model)
        rows = [e.as_dict() for e in state.episodes(basis)]
        return pd.DataFrame(rows, columns=["start", "end", "peak", "peak_p", "mean_p", "length", "ongoing"])

    # -- statements -----------------------------------------------------------------------------
    def statements(self, asof: DateLike | None = None) -> pd.DataFrame:
        """The statement catalogue aligned as of `asof` (statements dated after it are not known
        yet): per statement its event day t0, the headline regime and P(stress) there, the index
        change and abnormal change over ±k business days, placebo p- and q-values and confounders.
        The alignment the daily cycle stored for the date when it matches the settings, else
        aligned in memory; nothing is written. Indexed by statement id."""
        day = self._asof(asof)
        alignment = ev_align.stored_or_align(self.store, self.settings, day)
        frame = alignment.result.statements
        present = [c for c in STATEMENT_COLUMNS if c in frame.columns]
        out = frame[present].copy() if len(frame) else pd.DataFrame(columns=list(STATEMENT_COLUMNS))
        return out.set_index("id")

    # -- the one writer ---------------------------------------------------------------------------
    def compute(self, asof: DateLike | None = None) -> ComputeResult:
        """Compute indicators, the stress index and the regime models as of `asof` and store them —
        the only method that writes. It opens the store for writing under the single-instance lock
        (LockError while the daemon or another command writes), like `stresswatch compute`."""
        day = self._asof(asof)
        with single_instance(self.path, wait=self.settings["daemon"]["lock_wait"], holder="python api compute"):
            with Store.open(self.path, busy_timeout=self.settings["store"]["busy_timeout"], clock=self.clock) as store:
                return compute(store, self.settings, day)


def open_monitor(path: str | os.PathLike | None = None, *, config: str | os.PathLike | None = None,
                 clock: Clock | None = None) -> Monitor:
    """Open the store at `path` (default: the configured store, `[store] path`) read-only, with the
    settings of `config` (default: $STRESSWATCH_CONFIG, else the user config file, else the
    built-in defaults). StoreError when there is no store there."""
    overrides: dict[str, Any] = {"store.path": str(path)} if path is not None else {}
    settings = load(config, overrides=overrides)
    store = Store.open_readonly(settings.store_path, busy_timeout=settings["store"]["busy_timeout"],
                                clock=clock or clock_mod.system_clock)
    return Monitor(store, settings, clock)
