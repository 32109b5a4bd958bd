"""The update policy: what a model does on one day with the data known that day (pure).

`advance(state, inputs, day, spec, policy)` is the one policy, used alike by the daily compute
(update.py: the state comes from the model's previous stored run) and by the backtest
(backtest.py: the state is carried in memory), so the backtest replays exactly what the daily
cycle does:

* no accepted fit yet -> a **cold** robust fit once `min_fit_obs` estimation rows (not pegged; weeks:
  a fifth as many) are known, retried every `cold_retry` business days while rejected (no answer meanwhile);
* otherwise **filter** only the rows added since the state (regimes/filtering.py: numpy, started
  from the last filtered probabilities; no statsmodels import), or **refilter** everything with the
  same parameters when the history under the state changed (a revision: the digest of the rows
  already filtered differs);
* a **warm** refit (capped EM from the current parameters, fit.warm_fit) every `refit_every`
  business days, or earlier when the fit **degraded**: the estimation rows filtered since the
  refit clock started have a mean log-likelihood `degrade_nats` below the in-sample mean, over at
  least `degrade_min_obs` rows and `degrade_min_gap` business days after it; a rejected refit keeps
  the parameters, restarts the clock and records why.

The answer of the day (`answer`): the model period it refers to (the latest observation known),
the regime by the labelling rule (most likely by filtered probability), and P(stress). With a
direction gate, the stress regime counts as stress only while the gate is open (the ruble weaker
than `gate` observations earlier); otherwise P(stress) is 0 and the state is `strengthening`.
Statsmodels is imported only inside fits (fit.py, on first use).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from stresswatch.bizdays import business_days_between
from stresswatch.regimes import filtering
from stresswatch.regimes.refits import FitResult, cold_fit, filter_with_statsmodels, warm_fit
from stresswatch.regimes.spec import STRENGTHENING, RegimeSpec, most_likely
from stresswatch.regimes.transform import ModelInput
from stresswatch.settings import Settings

#: what `advance` did (`Step.action`)
ACTIONS = ("none", "cold", "cold-rejected", "filter", "refilter", "warm", "warm-rejected")


@dataclass(frozen=True)
class Policy:
    """When to fit, refit and filter: the `[regimes]` settings of the same names; `cold_retry`,
    `warm_max_iter`, `degrade_min_obs` and `degrade_min_gap` are fixed knobs (docs/regimes.md)."""

    min_fit_obs: int = 250
    cold_retry: int = 20
    refit_every: int = 63
    warm_max_iter: int = 30
    degrade_nats: float = 1.0
    degrade_min_obs: int = 5
    degrade_min_gap: int = 10
    search_reps: int = 20
    seeds: tuple[int, ...] = (1, 2, 3)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        cfg = settings["regimes"]
        return cls(min_fit_obs=int(cfg["min_fit_obs"]), refit_every=int(cfg["refit_every"]),
                   degrade_nats=float(cfg["degrade_nats"]), search_reps=int(cfg["search_reps"]),
                   seeds=tuple(int(s) for s in cfg["seeds"]))

    def first_fit_rows(self, spec: RegimeSpec) -> int:
        """Estimation rows before the first fit: `min_fit_obs` counts business days (a year by
        default), so a weekly model needs a fifth as many weeks (the same stretch of history)."""
        return -(-self.min_fit_obs // 5) if spec.periodicity == "W" else self.min_fit_obs

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {"seeds": list(self.seeds)}

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PolicyState:
    """What a model carries from one day to the next (JSON: `to_json` / `from_json`, exact floats).

    `params` None = no accepted fit yet (`cold_tried` = the day of the last rejected cold fit)."""

    params: tuple[float, ...] | None = None
    names: tuple[str, ...] = ()
    #: filtered P(S | y_1..y_n) at the last filtered row, its date, the rows filtered and their digest
    pi: tuple[float, ...] = ()
    n: int = 0
    last_date: str | None = None
    input_hash: str = ""
    #: log-likelihood of the n filtered rows with `params`
    llf: float = 0.0
    #: the fit that produced `params`: its day, kind, in-sample log-likelihood, rows, convergence
    fit_asof: str | None = None
    fit_kind: str | None = None
    fit_llf: float = 0.0
    fit_n: int = 0
    fit_converged: bool = False
    #: the refit clock: started at the last fit or rejected refit, with the in-sample mean
    #: log-likelihood per estimation row then; the estimation rows filtered since
    clock: str | None = None
    clock_mean_llf: float = 0.0
    new_llf: float = 0.0
    new_n: int = 0
    cold_tried: str | None = None

    @property
    def fitted(self) -> bool:
        return self.params is not None

    @property
    def param_vector(self) -> np.ndarray:
        return np.asarray(self.params, dtype=float)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any] | None) -> "PolicyState | None":
        if not text:
            return None
        data = dict(json.loads(text) if isinstance(text, str) else text)
        for key in ("params", "names", "pi"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Answer:
    """What the model says on a day: the model period it refers to, the state, P(stress) and the
    filtered regime probabilities."""

    date: dt.date
    regime: str
    p_stress: float
    probabilities: tuple[float, ...]


@dataclass(frozen=True)
class Step:
    """The outcome of one `advance`."""

    action: str
    state: PolicyState | None
    answer: Answer | None = None
    #: why a fit or refit was made ("due", "degraded", "forced") or skipped
    why: str = ""
    reasons: tuple[str, ...] = ()
    fit: FitResult | None = None


def _day(value: dt.date) -> str:
    return value.isoformat()


def _filter_rows(spec: RegimeSpec, params: np.ndarray, names: tuple[str, ...], y: np.ndarray, start: int,
                 pi0: tuple[float, ...] | None) -> tuple[np.ndarray, np.ndarray]:
    """Filtered probabilities and log-likelihoods of rows y[start:] (pi0 = the filtered row start-1)."""
    if filtering.supports(spec):
        return filtering.filter_from(spec, params, names, y[start:], None if pi0 is None else np.asarray(pi0))
    filtered, llf_obs = filter_with_statsmodels(spec, params, y)  # AR models: statsmodels, whole history
    return filtered[start:], llf_obs[start:]


def _fitted(fit: FitResult, inputs: ModelInput, day: dt.date, kind: str, spec: RegimeSpec) -> PolicyState:
    """The state for freshly fitted parameters: one filter pass over the estimation rows (in-sample
    mean log-likelihood) and one over every row (the current filtered probabilities)."""
    assert fit.params is not None
    params, names = np.asarray(fit.params, dtype=float), tuple(fit.param_names)
    est = inputs.y[inputs.fit_ok]
    _, ll_est = _filter_rows(spec, params, names, est, 0, None)
    filtered, ll = _filter_rows(spec, params, names, inputs.y, 0, None)
    return PolicyState(params=tuple(float(v) for v in params), names=names, pi=tuple(float(v) for v in filtered[-1]),
                       n=len(inputs), last_date=_day(inputs.date(len(inputs) - 1)), input_hash=inputs.fingerprint(),
                       llf=float(ll.sum()), fit_asof=_day(day), fit_kind=kind, fit_llf=float(fit.llf),
                       fit_n=int(len(est)), fit_converged=bool(fit.converged), clock=_day(day),
                       clock_mean_llf=float(ll_est.mean()))


def answer(state: PolicyState, inputs: ModelInput, spec: RegimeSpec) -> Answer:
    """The answer for the state's last filtered row (see the module docstring)."""
    i = state.n - 1
    probs = np.asarray(state.pi, dtype=float)
    k = spec.k_regimes
    top = int(most_likely(probs))
    open_gate = bool(inputs.gate_open[i])
    regime = spec.regime_names[top]
    if top == k - 1 and not open_gate:
        regime = STRENGTHENING
    return Answer(date=inputs.date(i), regime=regime, p_stress=float(probs[k - 1]) if open_gate else 0.0,
                  probabilities=tuple(float(p) for p in probs))


def _cold(state: PolicyState | None, inputs: ModelInput, day: dt.date, spec: RegimeSpec, policy: Policy,
          force: str | None) -> Step:
    est = inputs.y[inputs.fit_ok]
    need = max(policy.first_fit_rows(spec), spec.min_observations)
    if len(est) < need and force != "cold":
        return Step("none", state, reasons=(f"{len(est)} estimation observations known by {day}, need {need} "
                                             "for a first fit",))
    if (force is None and state is not None and state.cold_tried
            and business_days_between(dt.date.fromisoformat(state.cold_tried), day) < policy.cold_retry):
        return Step("none", state, reasons=(f"the cold fit of {state.cold_tried} was rejected; the next attempt "
                                             f"comes {policy.cold_retry} business days after it",))
    fit = cold_fit(est, spec, search_reps=policy.search_reps, seeds=policy.seeds)
    if not fit.accepted:
        return Step("cold-rejected", PolicyState(cold_tried=_day(day)), reasons=fit.reasons, fit=fit)
    new = _fitted(fit, inputs, day, "cold", spec)
    return Step("cold", new, answer(new, inputs, spec), why="forced" if force else "", reasons=fit.reasons, fit=fit)


def advance(state: PolicyState | None, inputs: ModelInput, day: dt.date, spec: RegimeSpec, policy: Policy,
            force: str | None = None) -> Step:
    """Bring the model from `state` (None: nothing yet) up to `inputs`, the model input known on
    business day `day`. `force` = "cold" | "warm" | "filter" overrides the choice of fit."""
    if len(inputs) == 0:
        return Step("none", state, reasons=(f"no model input known by {day}",))
    if state is None or not state.fitted or force == "cold":
        return _cold(state, inputs, day, spec, policy, force)
    params, names = state.param_vector, state.names
    action = "filter"
    n = len(inputs)
    if n < state.n or inputs.fingerprint(state.n) != state.input_hash:
        # the history under the state changed (a revision, a backfill): filter it all again
        filtered, ll = _filter_rows(spec, params, names, inputs.y, 0, None)
        state = dataclasses.replace(state, pi=tuple(float(v) for v in filtered[-1]), n=n, llf=float(ll.sum()),
                                    last_date=_day(inputs.date(n - 1)), input_hash=inputs.fingerprint())
        action = "refilter"
    elif n > state.n:
        filtered, ll = _filter_rows(spec, params, names, inputs.y, state.n, state.pi)
        use = inputs.fit_ok[state.n:]
        state = dataclasses.replace(
            state, pi=tuple(float(v) for v in filtered[-1]), n=n, llf=state.llf + float(ll.sum()),
            new_llf=state.new_llf + float(ll[use].sum()), new_n=state.new_n + int(use.sum()),
            last_date=_day(inputs.date(n - 1)), input_hash=inputs.fingerprint())
    since = business_days_between(dt.date.fromisoformat(state.clock or _day(day)), day)
    due = since >= policy.refit_every
    degraded = (state.new_n >= policy.degrade_min_obs and since >= policy.degrade_min_gap
                and state.new_llf / state.new_n < state.clock_mean_llf - policy.degrade_nats)
    why = "forced" if force == "warm" else "due" if due else "degraded" if degraded else ""
    if force == "filter" or not why:
        return Step(action, state, answer(state, inputs, spec))
    est = inputs.y[inputs.fit_ok]
    fit = warm_fit(est, spec, params, max_iter=policy.warm_max_iter)
    if fit.accepted:
        new = _fitted(fit, inputs, day, "warm", spec)
        return Step("warm", new, answer(new, inputs, spec), why=why, fit=fit)
    # rejected: keep the parameters, restart the clock on the current sample, say why
    _, ll_est = _filter_rows(spec, params, names, est, 0, None)
    state = dataclasses.replace(state, clock=_day(day), clock_mean_llf=float(ll_est.mean()) if len(ll_est) else 0.0,
                                new_llf=0.0, new_n=0)
    return Step("warm-rejected", state, answer(state, inputs, spec), why=why, reasons=fit.reasons, fit=fit)
