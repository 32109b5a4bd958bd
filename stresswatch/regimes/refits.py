"""The fits the real-time update policy makes (regimes/policy.py): `cold_fit` (a robust fit from
scratch) and `warm_fit` (at most `max_iter` EM iterations from the current parameters), both
returning a `FitResult` that is accepted with relabelled parameters or rejected with every reason,
and never raising on numerical trouble (any statsmodels exception, fit.NUMERIC_ERRORS, rejects the
fit with its reason recorded); `filter_with_statsmodels` for the models regimes/filtering.py does
not cover. The statsmodels machinery itself (starts, EM, polish, relabelling) lives in fit.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from stresswatch.errors import ModelError
from stresswatch.regimes.fit import (
    NUMERIC_ERRORS, POLISH_MAXITER, WARM_EM_TOL, _em, _polish, _Quiet, build_model, exact_em, fit_robust)
from stresswatch.regimes.matrices import degenerate_reasons, permute_params, relabel_order
from stresswatch.regimes.spec import RegimeSpec


@dataclass(frozen=True)
class FitResult:
    """What the update policy gets from a cold or warm fit: relabelled parameters (None when the
    fit was rejected), their log-likelihood on the estimation sample, why candidates or the fit
    were rejected, and how it went (`detail`: start label, seeds, EM iterations, seconds)."""

    params: np.ndarray | None
    param_names: tuple[str, ...]
    llf: float
    converged: bool
    reasons: tuple[str, ...]
    mapping: tuple[int, ...]
    detail: Mapping[str, Any]
    seconds: float

    @property
    def accepted(self) -> bool:
        return self.params is not None


def param_names(spec: RegimeSpec) -> tuple[str, ...]:
    """statsmodels' parameter names for `spec` (built on a tiny dummy series)."""
    return tuple(build_model(spec, np.linspace(-1.0, 1.0, 8 + spec.order)).param_names)


def cold_fit(y: np.ndarray, spec: RegimeSpec, *, search_reps: int = 20, seeds: Sequence[int] = (1, 2, 3)) -> FitResult:
    """`fit_robust` without fallback, as a result: accepted with its parameters, or rejected with
    every reason (degenerate or indistinct regimes, too few observations, statsmodels failing on
    every candidate). Never raises on numerical trouble."""
    t0 = time.perf_counter()
    values = np.asarray(y, dtype=float)
    series = pd.Series(values, index=pd.RangeIndex(len(values)))
    try:
        out = fit_robust(series, spec, search_reps=search_reps, seeds=seeds)
    except ModelError as exc:
        return FitResult(None, (), float("nan"), False, (str(exc),), (), {}, time.perf_counter() - t0)
    except NUMERIC_ERRORS as exc:
        reason = f"statsmodels failed: {type(exc).__name__}: {exc}"
        return FitResult(None, (), float("nan"), False, (reason,), (), {}, time.perf_counter() - t0)
    detail = {key: out.detail[key] for key in ("seeds_used", "start_label", "em_converged") if key in out.detail}
    return FitResult(out.params, out.param_names, out.llf, out.converged, out.reasons, out.mapping, detail,
                     time.perf_counter() - t0)


def warm_fit(y: np.ndarray, spec: RegimeSpec, start: np.ndarray, *, max_iter: int = 30,
             tol: float = WARM_EM_TOL) -> FitResult:
    """A warm refit: statsmodels' EM from the current (relabelled) parameters, at most `max_iter`
    iterations, stopping when an iteration gains less than `tol` nats; a short BFGS polish when
    statsmodels' EM is not exact for the spec. Relabelled calm -> stress and rejected like a cold
    fit (degenerate, indistinct, non-finite, or any statsmodels exception, with its reason)."""
    t0 = time.perf_counter()
    values = np.asarray(y, dtype=float)
    if len(values) < spec.min_observations:
        reason = f"{len(values)} observations, need at least {spec.min_observations}"
        return FitResult(None, (), float("nan"), False, (reason,), (), {}, time.perf_counter() - t0)
    try:
        model = build_model(spec, values)
        names = tuple(model.param_names)
        params, llf, iterations, converged = _em(model, np.asarray(start, dtype=float), maxiter=max_iter, tol=tol)
        if not exact_em(spec):
            polished, llf_p, _ = _polish(model, params, POLISH_MAXITER)
            if np.isfinite(llf_p) and llf_p >= llf:
                params, llf = polished, llf_p
    except NUMERIC_ERRORS as exc:
        reason = f"warm: {type(exc).__name__}: {exc}"
        return FitResult(None, (), float("nan"), False, (reason,), (), {}, time.perf_counter() - t0)
    k = spec.k_regimes
    if not np.isfinite(llf):
        return FitResult(None, names, llf, False, ("warm: non-finite log-likelihood",), (), {},
                         time.perf_counter() - t0)
    order = relabel_order(params, names, k)
    params = permute_params(params, names, k, order)
    bad = degenerate_reasons(params, names, k, values, spec.min_var_ratio)
    detail = {"em_iterations": iterations}
    if bad:
        return FitResult(None, names, llf, False, tuple(f"warm: {b}" for b in bad), tuple(order), detail,
                         time.perf_counter() - t0)
    return FitResult(params, names, llf, converged, (), tuple(order), detail, time.perf_counter() - t0)


def filter_with_statsmodels(spec: RegimeSpec, params: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Filtered probabilities (n x k) and per-row log-likelihoods of `y` by statsmodels, for the
    models regimes/filtering.py does not cover (AR terms); the first `order` rows, which an AR
    model cannot filter, are NaN with log-likelihood 0."""
    values = np.asarray(y, dtype=float)
    model = build_model(spec, values)
    with _Quiet():
        res = model.filter(np.asarray(params, dtype=float), cov_type="none")
    filtered = np.asarray(res.filtered_marginal_probabilities)
    if filtered.shape[-1] != spec.k_regimes:
        filtered = filtered.T
    llf_obs = np.asarray(res.llf_obs, dtype=float)
    pad = len(values) - filtered.shape[0]
    filtered = np.vstack([np.full((pad, spec.k_regimes), np.nan), filtered])
    return filtered, np.concatenate([np.zeros(pad), llf_obs])
