"""Stored model runs as `RunRecord`s: what a run saves (`save_run`), how runs are found
(`get_run`, `latest_run`, `list_runs`) and their per-date probabilities (`run_frame`). The rows
themselves are kept by `store.model_runs`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stresswatch.regimes.fit import FitOutcome
from stresswatch.regimes.matrices import durations
from stresswatch.regimes.spec import RegimeSpec
from stresswatch.store import Store
from stresswatch.store.model_runs import ModelRunRow, NewModelRun


PROB_TOL = 1e-9  # a filter run stores a date's probabilities only when they differ from its base run by more


@dataclass(frozen=True)
class RunRecord:
    """One stored model run (parameters relabelled, matrices column-stochastic)."""

    id: int
    model_id: str
    asof: dt.date
    kind: str
    base_run_id: int | None
    series_id: str
    params: dict[str, float]
    llf: float
    aic: float
    bic: float
    converged: bool
    accepted: bool
    fallback: bool
    reasons: list[str]
    n: int
    data_first: dt.date
    data_last: dt.date
    data_vintage: dt.date
    spec: RegimeSpec
    spec_hash: str
    mapping: list[int]
    transition: np.ndarray
    durations: np.ndarray
    pi_last: np.ndarray
    detail: dict[str, Any]
    seconds: float
    created_at: str

    @property
    def fit_run_id(self) -> int:
        """The run whose parameters this run uses (itself for fits)."""
        return self.base_run_id if self.kind == "filter" and self.base_run_id is not None else self.id

    @property
    def param_vector(self) -> np.ndarray:
        return np.array(list(self.params.values()), dtype=float)


def as_date(value: dt.date | str | pd.Timestamp | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def to_record(row: ModelRunRow) -> RunRecord:
    return RunRecord(
        id=row.id, model_id=row.model_id, asof=row.asof, kind=row.kind, base_run_id=row.base_run_id,
        series_id=row.series_id, params=row.params, llf=row.llf, aic=row.aic, bic=row.bic, converged=row.converged,
        accepted=row.accepted, fallback=row.fallback, reasons=row.reasons, n=row.n, data_first=row.data_first,
        data_last=row.data_last, data_vintage=row.data_vintage, spec=RegimeSpec.from_json(row.spec),
        spec_hash=row.spec_hash, mapping=row.mapping, transition=np.array(row.transition, dtype=float),
        durations=np.array(row.durations, dtype=float), pi_last=np.array(row.pi_last, dtype=float),
        detail=row.detail, seconds=row.seconds, created_at=row.created_at)


def record_or_none(row: ModelRunRow | None) -> RunRecord | None:
    return to_record(row) if row is not None else None


def get_run(store: Store, run_id: int) -> RunRecord | None:
    return record_or_none(store.model_runs.get(run_id))


def latest_run(store: Store, model_id: str, asof: dt.date | str | None = None) -> RunRecord | None:
    """The latest run of `model_id` with asof <= `asof` (any asof when None), or None."""
    return record_or_none(store.model_runs.latest(model_id, as_date(asof)))


def list_runs(store: Store, model_id: str | None = None) -> list[RunRecord]:
    return [to_record(r) for r in store.model_runs.rows(model_id)]


def run_frame(store: Store, run: RunRecord) -> pd.DataFrame:
    """Per-regime filtered/smoothed probabilities of a run (filter runs overlaid on their base)."""
    k = run.spec.k_regimes
    own = store.model_runs.probabilities(run.id, k)
    if run.kind == "filter" and run.base_run_id is not None:
        base = store.model_runs.probabilities(run.base_run_id, k)
        base = base[base.index <= pd.Timestamp(run.data_last)]
        own = pd.concat([base[~base.index.isin(own.index)], own]).sort_index()
    return own[own.index >= pd.Timestamp(run.data_first)]


def save_run(store: Store, outcome: FitOutcome, asof: dt.date, *, series_id: str, data_vintage: dt.date,
             base: RunRecord | None = None) -> int:
    """Store `outcome` as the run of (model, asof), replacing an earlier run for that same asof
    (filter runs based on it go with it). Runs of other dates stay: each one is what was known on
    its own date, so computing an earlier date must not change reports already made for later ones."""
    spec = outcome.spec
    k = spec.k_regimes
    frame = outcome.frame()
    kind = outcome.kind
    rows_frame = frame
    if kind == "filter":
        if base is None:
            raise ValueError("a filter run needs its base run")
        old = store.model_runs.probabilities(base.id, k).reindex(frame.index)
        cols = list(old.columns)
        diff = (old[cols] - frame[cols]).abs().max(axis=1)
        rows_frame = frame[diff.isna() | (diff > PROB_TOL)]
    params = {name: float(v) for name, v in zip(outcome.param_names, outcome.params)}
    P = outcome.transition
    run = NewModelRun(
        model_id=spec.id, asof=asof, kind=kind, base_run_id=base.id if kind == "filter" and base else None,
        series_id=series_id, params=params, llf=float(outcome.llf), aic=outcome.aic, bic=outcome.bic,
        converged=bool(outcome.converged), accepted=bool(outcome.accepted), fallback=bool(outcome.fallback),
        reasons=list(outcome.reasons), n=int(outcome.nobs), data_first=outcome.dates[0].date(),
        data_last=outcome.dates[-1].date(), data_vintage=data_vintage, spec=spec.to_json(),
        spec_hash=spec.fingerprint(), mapping=list(outcome.mapping), transition=P.tolist(),
        durations=durations(P).tolist(), pi_last=outcome.filtered[-1].tolist(), detail=dict(outcome.detail),
        seconds=float(outcome.seconds))
    return store.model_runs.save(run, rows_frame)


def store_filtered_probabilities(store: Store, model_id: str, probs: pd.Series) -> list[int]:
    """Store P(stress) computed elsewhere (imported or planted, 2 regimes) for `model_id` so that
    each value is known on its own date: one run per date holding every value up to that date
    (filtered = smoothed = the given value). Its transition matrix is the empirical frequency of
    the most likely regime's moves; its log-likelihood is 0 and it is flagged not converged."""
    p = pd.Series(probs, dtype=float).dropna().sort_index().clip(0.0, 1.0)
    if p.empty:
        return []
    spec = RegimeSpec(id=model_id, series=f"external.{model_id}", transform="level", k_regimes=2)
    state = (p.to_numpy() > 0.5).astype(int)
    counts = np.ones((2, 2))  # add-one so every column is a distribution
    for a, b in zip(state[:-1], state[1:]):
        counts[b, a] += 1
    P = counts / counts.sum(axis=0)
    names = ("p[0->0]", "p[1->0]")
    params = np.array([P[0, 0], P[0, 1]])
    dates = pd.DatetimeIndex(p.index, name="date")
    values = p.to_numpy()
    both = np.column_stack([1.0 - values, values])
    run_ids = []
    for i, day in enumerate(dates):
        outcome = FitOutcome(spec=spec, params=params, param_names=names, llf=0.0, nobs=i + 1, converged=False,
                             accepted=True, fallback=False, reasons=("external probabilities",), mapping=(0, 1),
                             dates=dates[: i + 1], filtered=both[: i + 1], smoothed=both[: i + 1], kind="cold")
        run_ids.append(save_run(store, outcome, day.date(), series_id=spec.series, data_vintage=day.date()))
    return run_ids


