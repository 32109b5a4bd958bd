"""The update policy: bring a model up to date D using only data known by D.

No earlier run (or a changed spec) -> cold robust fit; otherwise a filter-only update with the
stored parameters, or a warm refit when due (`[regimes] refit_every`) or when the fit degraded on
new data (`degrade_nats`). `update_all` runs every configured model and reports a failing one
without stopping the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Iterable

import pandas as pd

from stresswatch.bizdays import business_days_between
from stresswatch.errors import ModelError
from stresswatch.regimes.fit import FitOutcome, evaluate, fit_robust
from stresswatch.regimes.runs import RunRecord, as_date, get_run, record_or_none, run_frame, save_run, to_record
from stresswatch.regimes.spec import RegimeSpec, most_likely, specs_from_settings
from stresswatch.regimes.transform import transform
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSummary:
    """What `update_all` did for one model."""

    model_id: str
    asof: dt.date
    status: str  # cold | warm | filter | existing | skipped | failed
    run_id: int | None = None
    accepted: bool = False
    fallback: bool = False
    converged: bool = False
    llf: float | None = None
    n: int = 0
    last_date: dt.date | None = None
    regime: str | None = None
    p_stress_filtered: float | None = None
    p_stress_smoothed: float | None = None
    seconds: float = 0.0
    message: str = ""


def _read_input(store: Store, spec: RegimeSpec, asof: dt.date) -> tuple[pd.Series, dt.date | None]:
    """The transformed model input as known on `asof`, and the latest known_at used."""
    frame = store.observations.read_vintaged(spec.series, asof=asof)
    if frame.empty:
        return pd.Series(dtype=float), None
    raw = pd.Series(frame["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(frame["date"], name="date"))
    y = transform(raw, spec)
    if y.empty:
        return y, None
    known = frame.set_index("date")["known_at"]
    vintage = as_date(known[known.index <= y.index[-1]].max())
    return y, vintage


def _summary_of(run: RunRecord, status: str, frame: pd.DataFrame | None, seconds: float, message: str = "") -> RunSummary:
    k = run.spec.k_regimes
    regime = p_f = p_s = None
    if frame is not None and not frame.empty:
        last = frame.iloc[-1]
        p_f, p_s = float(last[f"p_filtered_{k - 1}"]), float(last[f"p_smoothed_{k - 1}"])
        regime = run.spec.regime_names[int(most_likely([last[f"p_filtered_{i}"] for i in range(k)]))]
    return RunSummary(model_id=run.model_id, asof=run.asof, status=status, run_id=run.id, accepted=run.accepted,
                      fallback=run.fallback, converged=run.converged, llf=run.llf, n=run.n, last_date=run.data_last,
                      regime=regime, p_stress_filtered=p_f, p_stress_smoothed=p_s, seconds=seconds, message=message)


def update_model(store: Store, settings: Settings, spec: RegimeSpec, asof: dt.date | str, *, force: str | None = None) -> RunSummary:
    """Bring one model up to `asof` using only data known by then.

    No earlier run (or a changed spec) -> cold robust fit. Otherwise the earlier run's fit
    parameters filter and smooth the new data ("filter" run, no refit) unless a refit is due:
    `refit_every` business days since that fit, or the fit degraded (mean log-likelihood of the
    new observations more than `degrade_nats` below the fit's in-sample mean) -> warm refit from
    the stored parameters; a rejected refit falls back to them with `fallback = 1`.
    `force` = "cold" | "warm" | "filter" overrides the choice (when possible).
    """
    t0 = time.perf_counter()
    asof = as_date(asof)
    assert isinstance(asof, dt.date)
    cfg = settings["regimes"]
    y, vintage = _read_input(store, spec, asof)
    min_obs = spec.min_observations
    if len(y) < min_obs:
        return RunSummary(model_id=spec.id, asof=asof, status="skipped", n=len(y),
                          message=f"{len(y)} observations of {spec.series} known by {asof}; need {min_obs}")
    last = y.index[-1].date()
    existing = store.model_runs.find(spec.id, asof)
    if existing is not None and force is None:
        run = to_record(existing)
        if (run.spec_hash == spec.fingerprint() and run.n == len(y) and run.data_last == last
                and run.data_vintage == vintage):
            return _summary_of(run, "existing", run_frame(store, run).tail(1), time.perf_counter() - t0,
                               "already computed for this asof with the same data")
    prev = record_or_none(store.model_runs.previous_accepted(spec.id, asof))
    base = None
    if prev is not None and prev.spec_hash == spec.fingerprint():
        base = get_run(store, prev.fit_run_id)
    kind = force or ("cold" if base is None else "filter")
    message = ""
    if kind != "cold" and base is None:
        kind, message = "cold", "no earlier fit with this spec"
    outcome: FitOutcome | None = None
    if kind == "filter":
        outcome = evaluate(y, spec, base.param_vector, kind="filter")
        due = business_days_between(base.asof, asof) >= int(cfg["refit_every"])
        new = outcome.nobs - base.n
        degraded = False
        if new > 0 and force is None:
            base_eval = evaluate(y[y.index <= pd.Timestamp(base.data_last)], spec, base.param_vector)
            mean_new = (outcome.llf - base_eval.llf) / new
            degraded = mean_new < base.llf / base.n - float(cfg["degrade_nats"])
        if force is None and (due or degraded):
            kind = "warm"
            message = ("refit due" if due else "fit degraded on new data") + f" (base run {base.id} of {base.asof})"
            outcome = None
    if outcome is None:
        previous_params = base.param_vector if base is not None else None
        outcome = fit_robust(y, spec, search_reps=int(cfg["search_reps"]), seeds=list(cfg["seeds"]),
                             previous=previous_params, warm=(kind == "warm"))
        if outcome.fallback:
            message = (message + "; " if message else "") + "fit rejected, kept earlier accepted parameters"
    run_id = save_run(store, outcome, asof, series_id=spec.series, data_vintage=vintage or last,
                      base=base if outcome.kind == "filter" else None)
    run = get_run(store, run_id)
    return _summary_of(run, kind, outcome.frame().tail(1), time.perf_counter() - t0, message)


def update_all(store: Store, settings: Settings, asof: dt.date | str, models: Iterable[str] | None = None) -> list[RunSummary]:
    """Update every configured model (or `models`) to `asof`; a model that fails is reported, not raised."""
    out = []
    wanted = set(models) if models else None
    for spec in specs_from_settings(settings):
        if wanted is not None and spec.id not in wanted:
            continue
        try:
            out.append(update_model(store, settings, spec, asof))
        except ModelError as exc:
            log.warning("regime model %s as of %s: %s", spec.id, asof, exc)
            out.append(RunSummary(model_id=spec.id, asof=as_date(asof), status="failed", message=str(exc)))
    return out


