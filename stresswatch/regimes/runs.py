"""Stored model runs as `RunRecord`s: what a day's update saves (`save_step`), how runs are found
(`get_run`, `latest_run`, `previous_run`, `list_runs`) and what they said in real time
(`real_time_answers`). The rows themselves are kept by `store.model_runs`.

A run stores the parameters it used, the policy state it hands to the next day and one
probability row: the day's answer (the model period it refers to, the filtered regime
probabilities, the state label and P(stress)). Whole probability paths are never stored: a past
date's real-time value is the answer stored on that date (or a backtest row), and a path with
later parameters is recomputed on demand and labelled as hindsight (regimes/history.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stresswatch.regimes.matrices import durations, transition_matrix
from stresswatch.regimes.policy import PolicyState, Step
from stresswatch.regimes.spec import RegimeSpec, most_likely
from stresswatch.regimes.transform import ModelInput
from stresswatch.store import Store
from stresswatch.store.database import as_date as store_as_date
from stresswatch.store.model_runs import ModelRunRow, NewModelRun

#: the run kind each policy action is stored as (a rejected warm refit keeps its fit's parameters:
#: a filter run with `fallback` set; a rejected cold fit is a cold run with `accepted` unset)
KIND_OF_ACTION = {"cold": "cold", "cold-rejected": "cold", "warm": "warm", "filter": "filter",
                  "refilter": "filter", "warm-rejected": "filter"}


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
    #: the policy state handed to the next day (None for runs not made by the update policy)
    state: PolicyState | None = None

    @property
    def fit_run_id(self) -> int:
        """The run whose parameters this run uses (itself for fits)."""
        return self.base_run_id if self.kind == "filter" and self.base_run_id is not None else self.id

    @property
    def param_vector(self) -> np.ndarray:
        return np.array(list(self.params.values()), dtype=float)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.params)


def as_date(value: dt.date | str | pd.Timestamp | None) -> dt.date | None:
    """`store.database.as_date`, passing None through."""
    return None if value is None else store_as_date(value)


def to_record(row: ModelRunRow) -> RunRecord:
    return RunRecord(
        id=row.id, model_id=row.model_id, asof=row.asof, kind=row.kind, base_run_id=row.base_run_id,
        series_id=row.series_id, params=row.params, llf=row.llf, aic=row.aic, bic=row.bic, converged=row.converged,
        accepted=row.accepted, fallback=row.fallback, reasons=row.reasons, n=row.n, data_first=row.data_first,
        data_last=row.data_last, data_vintage=row.data_vintage, spec=RegimeSpec.from_json(row.spec),
        spec_hash=row.spec_hash, mapping=row.mapping, transition=np.array(row.transition, dtype=float),
        durations=np.array(row.durations, dtype=float), pi_last=np.array(row.pi_last, dtype=float),
        detail=row.detail, seconds=row.seconds, created_at=row.created_at, state=PolicyState.from_json(row.state))


def record_or_none(row: ModelRunRow | None) -> RunRecord | None:
    return to_record(row) if row is not None else None


def get_run(store: Store, run_id: int) -> RunRecord | None:
    return record_or_none(store.model_runs.get(run_id))


def latest_run(store: Store, model_id: str, asof: dt.date | str | None = None) -> RunRecord | None:
    """The latest run of `model_id` with asof <= `asof` (any asof when None), or None."""
    return record_or_none(store.model_runs.latest(model_id, as_date(asof)))


def previous_run(store: Store, spec: RegimeSpec, before: dt.date) -> RunRecord | None:
    """The latest run of `spec` (same fingerprint) with asof < `before` that carries a policy
    state: where the update of `before` starts from."""
    row = store.model_runs.latest(spec.id, before - dt.timedelta(days=1))
    run = record_or_none(row)
    if run is None or run.spec_hash != spec.fingerprint() or run.state is None:
        return None
    return run


def list_runs(store: Store, model_id: str | None = None) -> list[RunRecord]:
    return [to_record(r) for r in store.model_runs.rows(model_id)]


def fit_asof(run: RunRecord, store: Store) -> dt.date:
    """The day of the fit whose parameters the run used."""
    if run.state is not None and run.state.fit_asof:
        return dt.date.fromisoformat(run.state.fit_asof)
    fit = get_run(store, run.fit_run_id)
    return fit.asof if fit is not None else run.asof


def real_time_answers(store: Store, run: RunRecord) -> pd.DataFrame:
    """What the model (the run's spec) said on each date up to the run's asof: the answer stored by
    each of its runs. DataFrame[asof, date, regime, p_stress, fit_asof, p_filtered_i] by asof; a row
    stored before the answers had labels gets the most likely regime and the stress probability."""
    k = run.spec.k_regimes
    out = store.model_runs.answers(run.model_id, run.spec_hash, run.asof, k)
    if len(out):
        probs = out[[f"p_filtered_{i}" for i in range(k)]].to_numpy(dtype=float)
        missing = out["regime"].isna().to_numpy()
        if missing.any():
            names = np.array(run.spec.regime_names)
            out.loc[missing, "regime"] = names[most_likely(probs[missing])]
        gone = out["p_stress"].isna().to_numpy()
        out.loc[gone, "p_stress"] = probs[gone, k - 1]
    return out


def save_step(store: Store, spec: RegimeSpec, step: Step, asof: dt.date, inputs: ModelInput, *,
              data_vintage: dt.date, base: RunRecord | None, seconds: float) -> int:
    """Store one day's update as the run of (model, asof), replacing an earlier run for that same
    asof (filter runs based on it go with it). Runs of other dates stay: each one is what was known
    on its own date, so computing an earlier date must not change reports already made for later
    ones. `base` is the fit run whose parameters a filter run uses."""
    state = step.state
    kind = KIND_OF_ACTION[step.action]
    k = spec.k_regimes
    fit = step.fit
    detail: dict[str, Any] = {"action": step.action}
    if step.why:
        detail["why"] = step.why
    if fit is not None:
        detail.update({key: value for key, value in fit.detail.items()})
        detail["fit_seconds"] = round(fit.seconds, 4)
    last = len(inputs) - 1
    if state is not None and state.fitted:
        names = state.names
        params = state.param_vector
        P = transition_matrix(params, names, k)
        detail["fit_asof"] = state.fit_asof
        accepted = True
        llf = state.llf
        n = state.n
        pi = list(state.pi)
        converged = state.fit_converged
        mapping = list(fit.mapping) if fit is not None and fit.accepted and fit.mapping else list(range(k))
    else:  # a rejected cold fit: no parameters, only why (and when the next attempt may come)
        names, params, P = (), np.zeros(0), np.full((k, k), 1.0 / k)
        accepted, llf, n, pi, converged, mapping = False, 0.0, len(inputs), [1.0 / k] * k, False, list(range(k))
    n_params = len(params)
    run = NewModelRun(
        model_id=spec.id, asof=asof, kind=kind, base_run_id=base.id if kind == "filter" and base else None,
        series_id=spec.series, params={name: float(v) for name, v in zip(names, params)}, llf=float(llf),
        aic=float(-2 * llf + 2 * n_params), bic=float(-2 * llf + np.log(max(n, 1)) * n_params),
        converged=bool(converged), accepted=accepted, fallback=step.action == "warm-rejected",
        reasons=list(step.reasons), n=int(n), data_first=inputs.date(0), data_last=inputs.date(last),
        data_vintage=data_vintage, spec=spec.to_json(), spec_hash=spec.fingerprint(), mapping=mapping,
        transition=P.tolist(), durations=durations(P).tolist(), pi_last=[float(p) for p in pi],
        detail=detail, seconds=float(seconds), state=state.to_json() if state is not None else None)
    probs = pd.DataFrame(index=pd.DatetimeIndex([], name="date"))
    if step.answer is not None:
        a = step.answer
        row = {f"p_filtered_{i}": [a.probabilities[i]] for i in range(k)}
        row.update({f"p_smoothed_{i}": [a.probabilities[i]] for i in range(k)})
        row.update(regime=[a.regime], p_stress=[a.p_stress])
        probs = pd.DataFrame(row, index=pd.DatetimeIndex([pd.Timestamp(a.date)], name="date"))
    else:
        probs = pd.DataFrame({f"p_{b}_{i}": [] for b in ("filtered", "smoothed") for i in range(k)},
                             index=pd.DatetimeIndex([], name="date"))
    return store.model_runs.save(run, probs)


def store_filtered_probabilities(store: Store, model_id: str, probs: pd.Series) -> list[int]:
    """Store P(stress) computed elsewhere (imported or planted, 2 regimes) for `model_id` so that
    each value is known on its own date: one run per date whose answer is that date's value. Its
    transition matrix is the empirical frequency of the most likely regime's moves; its
    log-likelihood is 0 and it is flagged not converged."""
    p = pd.Series(probs, dtype=float).dropna().sort_index().clip(0.0, 1.0)
    if p.empty:
        return []
    spec = RegimeSpec(id=model_id, series=f"external.{model_id}", transform="level", k_regimes=2)
    state = (p.to_numpy() > 0.5).astype(int)
    counts = np.ones((2, 2))  # add-one so every column is a distribution
    for a, b in zip(state[:-1], state[1:]):
        counts[b, a] += 1
    P = counts / counts.sum(axis=0)
    params = {"p[0->0]": float(P[0, 0]), "p[1->0]": float(P[0, 1])}
    names = spec.regime_names
    run_ids = []
    for i, (day, value) in enumerate(p.items()):
        d = day.date()
        row = NewModelRun(
            model_id=model_id, asof=d, kind="cold", base_run_id=None, series_id=spec.series, params=params, llf=0.0,
            aic=4.0, bic=float(2 * np.log(i + 1)), converged=False, accepted=True, fallback=False,
            reasons=["external probabilities"], n=i + 1, data_first=p.index[0].date(), data_last=d, data_vintage=d,
            spec=spec.to_json(), spec_hash=spec.fingerprint(), mapping=[0, 1], transition=P.tolist(),
            durations=durations(P).tolist(), pi_last=[1.0 - value, value], detail={"source": "external"}, seconds=0.0)
        frame = pd.DataFrame({"p_filtered_0": [1.0 - value], "p_filtered_1": [value], "p_smoothed_0": [1.0 - value],
                              "p_smoothed_1": [value], "regime": [names[int(value > 0.5)]], "p_stress": [value]},
                             index=pd.DatetimeIndex([day], name="date"))
        run_ids.append(store.model_runs.save(row, frame))
    return run_ids
