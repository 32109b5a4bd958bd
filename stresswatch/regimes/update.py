"""The daily update: bring every model up to date D with the data known by D (`update_all`, called
by `compute`), through the one update policy (policy.py) that the backtest replays.

Per model: the input as known on D (inputs.py), the policy state of the model's previous run (a
run with asof < D of the same spec), `policy.advance`, and one stored run (runs.save_step: the
parameters, the state for the next day, the day's answer). A model that fails is reported, not
raised: `update_all` turns a `ModelError` or any numerical exception into a `failed` summary and
goes on with the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Iterable

from stresswatch.errors import ModelError
from stresswatch.regimes.fit import NUMERIC_ERRORS
from stresswatch.regimes.inputs import read_input
from stresswatch.regimes.policy import Policy, Step, advance
from stresswatch.regimes.runs import RunRecord, as_date, get_run, previous_run, save_step, to_record
from stresswatch.regimes.spec import RegimeSpec, specs_from_settings
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

#: what `update_model` reports per policy action (`RunSummary.status`): the statuses compute knows
STATUS_OF_ACTION = {"cold": "cold", "warm": "warm", "filter": "filter", "refilter": "filter",
                    "warm-rejected": "warm", "cold-rejected": "failed", "none": "skipped"}


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
    #: what the policy did: none | cold | cold-rejected | filter | refilter | warm | warm-rejected
    action: str = ""


def _summary(run: RunRecord, status: str, seconds: float, message: str = "", action: str = "",
             store: Store | None = None) -> RunSummary:
    regime = p = None
    found = store.model_runs.answer(run.id) if store is not None and run.accepted else None
    if found is not None:
        k = run.spec.k_regimes
        probs = [found[f"f{i}"] for i in range(k)]
        regime = found["regime"] or run.spec.regime_names[int(max(range(k), key=lambda i: probs[i]))]
        p = float(found["p_stress"] if found["p_stress"] is not None else probs[k - 1])
    return RunSummary(model_id=run.model_id, asof=run.asof, status=status, run_id=run.id, accepted=run.accepted,
                      fallback=run.fallback, converged=run.converged, llf=run.llf, n=run.n, last_date=run.data_last,
                      regime=regime, p_stress_filtered=p, p_stress_smoothed=p, seconds=seconds, message=message,
                      action=action)


def _message(step: Step) -> str:
    if step.action == "warm":
        return f"refit {'due' if step.why == 'due' else step.why}"
    if step.action == "warm-rejected":
        return f"refit {step.why}, rejected: kept earlier accepted parameters ({'; '.join(step.reasons)})"
    if step.action == "refilter":
        return "the history changed under the stored state: filtered again with the same parameters"
    if step.action in ("none", "cold-rejected"):
        return "; ".join(step.reasons)
    return ""


def update_model(store: Store, settings: Settings, spec: RegimeSpec, asof: dt.date | str, *,
                 force: str | None = None) -> RunSummary:
    """Bring one model up to `asof` using only data known by then (see the module docstring).

    The same asof with the same data (spec, rows, their digest, vintage) -> nothing (`existing`).
    `force` = "cold" | "warm" | "filter" overrides the policy's choice (when possible)."""
    t0 = time.perf_counter()
    day = as_date(asof)
    assert isinstance(day, dt.date)
    inputs, vintage = read_input(store, spec, day)
    if len(inputs) == 0:
        names = " and ".join(spec.inputs)
        return RunSummary(model_id=spec.id, asof=day, status="skipped", action="none",
                          message=f"0 observations of {names} known by {day}")
    existing = store.model_runs.find(spec.id, day)
    if existing is not None and force is None:
        run = to_record(existing)
        if (run.spec_hash == spec.fingerprint() and run.state is not None and run.state.n == len(inputs)
                and run.state.input_hash == inputs.fingerprint() and run.data_vintage == (vintage or run.data_vintage)):
            return _summary(run, "existing", time.perf_counter() - t0, "already computed for this asof with the same data",
                            store=store)
    prev = previous_run(store, spec, day)
    state = prev.state if prev is not None else None
    step = advance(state, inputs, day, spec, Policy.from_settings(settings), force=force)
    status = STATUS_OF_ACTION[step.action]
    if step.action == "none":
        return RunSummary(model_id=spec.id, asof=day, status="skipped", n=len(inputs), action=step.action,
                          message=_message(step), seconds=time.perf_counter() - t0)
    base = get_run(store, prev.fit_run_id) if prev is not None and step.action in (
        "filter", "refilter", "warm-rejected") else None
    run_id = save_step(store, spec, step, day, inputs, data_vintage=vintage or inputs.date(len(inputs) - 1),
                       base=base, seconds=time.perf_counter() - t0)
    run = get_run(store, run_id)
    assert run is not None
    return _summary(run, status, time.perf_counter() - t0, _message(step), step.action, store=store)


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
        except NUMERIC_ERRORS as exc:
            # numerical trouble outside a fit's own guards: this model failed today, the others go on
            log.warning("regime model %s as of %s: %s: %s", spec.id, asof, type(exc).__name__, exc, exc_info=True)
            out.append(RunSummary(model_id=spec.id, asof=as_date(asof), status="failed",
                                  message=f"{type(exc).__name__}: {exc}"))
    return out
