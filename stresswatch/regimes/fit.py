"""Fitting a regime model with statsmodels: the only module of the project that imports it.

`fit_robust` (data-driven starts + `search_reps` random starts per `rng` seed, EM to tolerance, a
short BFGS polish, keep the best log-likelihood, relabel calm -> stress, reject degenerate fits,
fall back to earlier accepted parameters with a flag) and `evaluate` (filter + smooth with given
parameters, no fitting), both returning a frozen `FitOutcome`; the EM and polish steps that
regimes/refits.py (`cold_fit`, `warm_fit`: what the update policy calls) builds on. Any statsmodels
exception (NUMERIC_ERRORS) in a candidate rejects that candidate, with the reason recorded; it
never ends the fit. Arrays in, frozen results out: no
store, no settings. statsmodels is imported on first use (`_sm`), so reading stored runs and the
filter-only days of the daily cycle (regimes/filtering.py) never pay for it.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from stresswatch.errors import ModelError
from stresswatch.regimes.matrices import (
    _IDX, _TRANS, _set_transition, degenerate_reasons, durations, forecast_probabilities, permute_params,
    relabel_order, transition_matrix)
from stresswatch.regimes.spec import RegimeSpec, most_likely


#: fitting knobs that are not settings (documented in docs/regimes.md)
EM_MAXITER = 500
EM_TOL = 1e-5  # absolute log-likelihood gain per EM iteration below which EM has converged
POLISH_MAXITER = 4  # BFGS iterations after EM (each costs k_params+1 likelihood evaluations)
POLISH_MAXITER_LONG = 100
POLISH_RTOL = 1e-5  # converged when the polish moved the log-likelihood by less than this (relative)
COARSE_MIN_OBS = 2000  # daily series longer than this get their random search on 5-period blocks
COARSE_BLOCK = 5
WARM_EM_TOL = 1e-2  # a warm refit stops when an EM iteration gains less than this (nats, whole sample)

#: what statsmodels raises on numerical trouble inside a fit (start search, EM, BFGS, filter):
#: `ValueError` ("Could not untransform parameters", incompatible shapes), `LinAlgError` (SVD did not
#: converge), `RuntimeError` ("Steady-state probabilities could not be constructed"), overflow and
#: division errors. A candidate that raises one of them is rejected with its reason; it never ends
#: the fit, and a fit with no candidate left is a rejected fit, not an exception.
NUMERIC_ERRORS = (ValueError, np.linalg.LinAlgError, RuntimeError, FloatingPointError, OverflowError,
                  ZeroDivisionError)
#: transition probabilities are clipped to [PROB_FLOOR, 1] before the logistic untransform
PROB_FLOOR = 1e-12


def _sm():
    # the only statsmodels import in the package; the narrow modules load ~5x faster than statsmodels.api
    from statsmodels.tsa.regime_switching.markov_autoregression import MarkovAutoregression
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    return MarkovRegression, MarkovAutoregression


def build_model(spec: RegimeSpec, y: np.ndarray | pd.Series):
    """The statsmodels model for `spec` on the values `y` (a plain array; dates stay with us)."""
    MarkovRegression, MarkovAutoregression = _sm()
    endog = np.asarray(y, dtype=float)
    switching_mean = spec.switching_mean and spec.trend != "n"
    if spec.order > 0:
        return MarkovAutoregression(endog, k_regimes=spec.k_regimes, order=spec.order, trend=spec.trend,
                                    switching_ar=False, switching_trend=switching_mean,
                                    switching_variance=spec.switching_variance)
    return MarkovRegression(endog, k_regimes=spec.k_regimes, trend=spec.trend, switching_trend=switching_mean,
                            switching_variance=spec.switching_variance)


def exact_em(spec: RegimeSpec) -> bool:
    """statsmodels' EM step is exact (closed-form weighted moments) when every mean and variance
    switches (a zero mean has nothing to estimate) and there are no AR terms."""
    return spec.order == 0 and spec.switching_variance and (spec.switching_mean or spec.trend == "n")


def untransform(model, params: np.ndarray) -> np.ndarray:
    """`model.untransform_params(params)` without its failure mode.

    statsmodels maps each regime's free transition probabilities p_0..p_{k-2} (the last one is
    1 - their sum) through a multinomial logistic, p_j = exp(x_j) / (1 + sum exp(x)). Its inverse
    solves this with `scipy.optimize.root` from x = 0 for k >= 3 and raises `ValueError: Could not
    untransform parameters` when a probability is ~1e-12 (x ~ 27): EM drives the transitions that
    never happen to such values (the cold-fit crash of 2012-12-28). Here the transition part uses the
    exact inverse x_j = log(p_j) - log(1 - sum p) (probabilities clipped to PROB_FLOOR); every other
    parameter (variances -> standard deviations, AR terms) goes through statsmodels' own
    `untransform_params`, called with harmless transition values."""
    params = np.asarray(params, dtype=float)
    k = model.k_regimes
    blocks = [model.parameters[i, "regime_transition"] for i in range(k)]
    safe = params.copy()
    for block in blocks:
        safe[block] = 1.0 / k
    out = np.asarray(model.untransform_params(safe), dtype=float)
    for block in blocks:
        p = np.clip(params[block], PROB_FLOOR, 1.0)
        out[block] = np.log(p) - np.log(max(1.0 - float(np.sum(p)), PROB_FLOOR))
    return out



@dataclass(frozen=True)
class FitOutcome:
    """The result of `fit_robust` or `evaluate` on one input series (regimes relabelled)."""

    spec: RegimeSpec
    params: np.ndarray
    param_names: tuple[str, ...]
    llf: float
    nobs: int
    converged: bool
    accepted: bool
    fallback: bool
    reasons: tuple[str, ...]
    mapping: tuple[int, ...]  # mapping[new] = label in the optimiser's output
    dates: pd.DatetimeIndex
    filtered: np.ndarray  # nobs x k
    smoothed: np.ndarray  # nobs x k
    kind: str = "cold"  # cold | warm | filter
    starts: int = 0
    seconds: float = 0.0
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return self.spec.k_regimes

    @property
    def transition(self) -> np.ndarray:
        return transition_matrix(self.params, self.param_names, self.k)

    @property
    def expected_durations(self) -> np.ndarray:
        return durations(self.transition)

    @property
    def aic(self) -> float:
        return float(-2 * self.llf + 2 * len(self.params))

    @property
    def bic(self) -> float:
        return float(-2 * self.llf + np.log(self.nobs) * len(self.params))

    def forecast(self, h: int) -> np.ndarray:
        return forecast_probabilities(self.transition, self.filtered[-1], h)

    def frame(self) -> pd.DataFrame:
        """DataFrame indexed by date: regime (the labelling rule: most likely by filtered probability),
        p_stress_filtered/_smoothed and
        per-regime probabilities."""
        k = self.k
        names = self.spec.regime_names
        df = pd.DataFrame(index=self.dates)
        df["regime"] = [names[i] for i in most_likely(self.filtered)]
        df["p_stress_filtered"] = self.filtered[:, k - 1]
        df["p_stress_smoothed"] = self.smoothed[:, k - 1]
        for i in range(k):
            df[f"p_filtered_{i}"] = self.filtered[:, i]
            df[f"p_smoothed_{i}"] = self.smoothed[:, i]
        return df


def _params_from_parts(model, P: np.ndarray, means: np.ndarray, variances: np.ndarray) -> np.ndarray:
    names = model.param_names
    params = np.asarray(model.start_params, dtype=float).copy()
    _set_transition(params, names, P)
    for pos, name in enumerate(names):
        if name in ("const", "sigma2"):
            params[pos] = float(np.mean(means) if name == "const" else np.mean(variances))
        m = _IDX.match(name)
        if m and not _TRANS.match(name):
            i = int(m["i"])
            if m["name"] == "const":
                params[pos] = means[i]
            elif m["name"] == "sigma2":
                params[pos] = variances[i]
    return params


def _start_from_weights(model, y: np.ndarray, weights: np.ndarray, stay: np.ndarray | float) -> np.ndarray:
    """Start values from regime weights (n x k): weighted means (zero for a zero-mean model) and
    variances, sticky transitions."""
    k = model.k_regimes
    w = np.clip(weights, 1e-6, None)
    tot = w.sum(axis=0)
    means = np.zeros(k) if model.trend == "n" else (w * y[:, None]).sum(axis=0) / tot
    variances = (w * (y[:, None] - means) ** 2).sum(axis=0) / tot
    variances = np.maximum(variances, 1e-6 * max(float(np.var(y)), 1e-12))
    stay = np.broadcast_to(np.asarray(stay, dtype=float), (k,))
    P = np.empty((k, k))
    for i in range(k):
        P[:, i] = (1 - stay[i]) / (k - 1)
        P[i, i] = stay[i]
    return _params_from_parts(model, P, means, variances)


def data_driven_starts(model, y: np.ndarray) -> list[np.ndarray]:
    """Start values from the data: regimes = quantile bands of local variance, and of local level."""
    k = model.k_regimes
    n = len(y)
    window = max(5, min(21, n // 50))
    kernel = np.ones(window) / window
    centre = 0.0 if model.trend == "n" else np.mean(y)
    local_var = np.convolve((y - centre) ** 2, kernel, mode="same")
    local_level = np.convolve(y, kernel, mode="same")
    starts = []
    for signal in (local_var, local_level):
        edges = np.quantile(signal, np.linspace(0, 1, k + 1)[1:-1])
        labels = np.searchsorted(edges, signal)
        weights = np.eye(k)[labels]
        if np.all(weights.sum(axis=0) >= 2):
            starts.append(_start_from_weights(model, y, weights, 0.95))
    return starts


class _Quiet(warnings.catch_warnings):
    def __enter__(self):
        out = super().__enter__()
        warnings.simplefilter("ignore")
        return out


def _em(model, start: np.ndarray, maxiter: int = EM_MAXITER, tol: float = EM_TOL) -> tuple[np.ndarray, float, int, bool]:
    """EM from `start` (constrained params) until the log-likelihood gain per iteration < tol.

    Uses statsmodels' own EM step (`_em_iteration`: smoother + closed-form M-step). Returns
    (params, llf at params, iterations, converged)."""
    params = np.asarray(start, dtype=float)
    best_params, best_llf = params, -np.inf
    previous = -np.inf
    converged = False
    it = 0
    with _Quiet():
        for it in range(1, maxiter + 1):
            result, new = model._em_iteration(params)
            llf = float(result.llf)  # log-likelihood at `params`
            if not np.isfinite(llf):
                break
            if llf > best_llf:
                best_params, best_llf = params, llf
            if llf - previous < tol:
                converged = llf >= previous - 1e-6  # stopped on a plateau, not on a drop
                break
            previous = llf
            params = np.asarray(new, dtype=float)
        else:  # the cap was reached: the last EM step's parameters have not been scored yet
            llf = float(model.loglike(params))
            if np.isfinite(llf) and llf > best_llf:
                best_params, best_llf = params, llf
    return best_params, best_llf, it, converged


def _polish(model, params: np.ndarray, maxiter: int) -> tuple[np.ndarray, float, bool]:
    """A few BFGS iterations (statsmodels' fit, no EM, no covariance) from `params`."""
    with _Quiet():
        try:
            res = model.fit(start_params=untransform(model, params), transformed=False, em_iter=0, maxiter=maxiter,
                            cov_type="none", disp=0)
        except NUMERIC_ERRORS:
            try:
                return params, float(model.loglike(params)), False
            except NUMERIC_ERRORS:
                return params, -np.inf, False
    converged = bool(res.mle_retvals.get("converged", False))
    return np.asarray(res.params, dtype=float), float(res.llf), converged


def _search(model, start: np.ndarray, reps: int, seed: int, search_iter: int) -> np.ndarray:
    """statsmodels' random start search (`search_reps` draws around `start`, `search_iter` EM
    steps each, best kept) with an explicit `rng` seed."""
    with _Quiet():
        if hasattr(model, "_start_params_search"):
            return np.asarray(model._start_params_search(reps, start_params=untransform(model, start),
                                                         transformed=False, em_iter=search_iter, rng=seed),
                              dtype=float)
        return np.asarray(model.fit(start_params=start, search_reps=reps, search_iter=search_iter, rng=seed,
                                    em_iter=0, maxiter=0, return_params=True), dtype=float)  # pragma: no cover


def _same_optimum(a: tuple[float, np.ndarray], b: tuple[float, np.ndarray], names, k) -> bool:
    if abs(a[0] - b[0]) > 1e-2:
        return False
    pa = permute_params(a[1], names, k, relabel_order(a[1], names, k))
    pb = permute_params(b[1], names, k, relabel_order(b[1], names, k))
    return bool(np.allclose(pa, pb, rtol=5e-2, atol=5e-3))


def _coarse_to_fine(spec: RegimeSpec, fine_model, y: np.ndarray, coarse_params: np.ndarray, coarse_model,
                    block: int) -> np.ndarray:
    """Daily start values from a fit on block aggregates: spread each block's smoothed regime
    probabilities over its days, take weighted daily moments, and p_ii(daily) = p_ii(block)^(1/block)."""
    k = spec.k_regimes
    with _Quiet():
        smoothed = np.asarray(coarse_model.smooth(coarse_params, return_raw=True).smoothed_marginal_probabilities).T
    weights = np.repeat(smoothed, block, axis=0)
    if len(weights) < len(y):
        weights = np.vstack([weights, np.repeat(weights[-1:], len(y) - len(weights), axis=0)])
    P = transition_matrix(coarse_params, coarse_model.param_names, k)
    stay = np.clip(np.diag(P), 0.5, 1 - 1e-6) ** (1.0 / block)
    return _start_from_weights(fine_model, y, weights[: len(y)], stay)


def fit_robust(y: pd.Series, spec: RegimeSpec, *, search_reps: int = 20, seeds: Sequence[int] = (1, 2, 3),
               search_iter: int = 5, previous: np.ndarray | None = None, warm: bool = False,
               polish_maxiter: int = POLISH_MAXITER) -> FitOutcome:
    """Fit `spec` on `y` robustly and relabel the regimes calm -> stress.

    Cold fit (default): candidate starts = data-driven starts (quantile bands of local variance and
    level) + statsmodels' default start + for each `rng` seed the best of `search_reps` random draws
    around the best data-driven start (statsmodels' search, `search_iter` EM steps each). For
    daily series longer than COARSE_MIN_OBS the search runs on 5-observation blocks (sums for
    returns, means for levels) and its winner is mapped back to daily start values. Each distinct
    candidate is run through EM to tolerance; seeds stop early once two in a row land on the
    incumbent optimum. The candidate with the best log-likelihood gets a short BFGS polish (longer
    when EM stopped early or the polish still moves the likelihood).

    Warm fit (`warm=True` with `previous` = earlier accepted relabelled parameters): EM + polish
    from `previous` only (plus the data-driven start as a safety net).

    A fit with any p_ii < 0.5 (expected duration < 2 periods), a collapsed variance or no
    convergence is rejected; with `previous` given, the outcome then carries those parameters
    evaluated on `y` with `fallback=True`; without it, `ModelError` is raised.
    """
    t0 = time.perf_counter()
    values = np.asarray(y, dtype=float)
    k = spec.k_regimes
    n = len(values)
    min_obs = spec.min_observations
    if n < min_obs:
        raise ModelError(f"model {spec.id}: {n} observations, need at least {min_obs} for {k} regimes")
    model = build_model(spec, values)
    names = tuple(model.param_names)
    detail: dict[str, Any] = {}

    candidates: list[tuple[str, np.ndarray]] = []
    if warm and previous is not None:
        candidates.append(("previous", np.asarray(previous, dtype=float)))
    coarse = (not warm and spec.order == 0 and spec.periodicity == "D" and n >= COARSE_MIN_OBS)
    if coarse:
        m = n // COARSE_BLOCK
        blocks = values[n - m * COARSE_BLOCK:].reshape(m, COARSE_BLOCK)
        agg = blocks.mean(axis=1) if spec.transform == "level" else blocks.sum(axis=1)
        search_model = build_model(spec, agg)
        search_y = agg
    else:
        search_model, search_y = model, values
    base_starts = [(f"data{i}", s) for i, s in enumerate(
        data_driven_starts(search_model, search_y) if spec.order == 0 else [])]
    base_starts.append(("default", np.asarray(search_model.start_params, dtype=float)))

    # local optimisation on the search data for every start, seeds with early stop; a candidate on
    # which statsmodels fails (NUMERIC_ERRORS) is rejected with its reason, the others go on
    optima: list[tuple[float, np.ndarray, str, bool]] = []
    rejected: list[str] = []

    def guarded(label: str, fn, *args):
        try:
            return fn(*args)
        except NUMERIC_ERRORS as exc:
            rejected.append(f"{label}: {type(exc).__name__}: {exc}")
            return None

    def em_candidate(on, label: str, start: np.ndarray) -> tuple[float, np.ndarray, str, bool] | None:
        got = guarded(label, _em, on, start)
        if got is None:
            return None
        params, llf, _, conv = got
        if not np.isfinite(llf):
            rejected.append(f"{label}: non-finite log-likelihood")
            return None
        return llf, params, label, conv

    if not warm:
        for label, start in base_starts:
            if (found := em_candidate(search_model, label, start)) is not None:
                optima.append(found)
        agree = 0
        seeds_used = []
        for seed in seeds:
            if search_reps <= 0 or not optima:
                break
            incumbent = max(optima, key=lambda o: o[0])
            seeds_used.append(int(seed))
            start = guarded(f"seed{seed}", _search, search_model, incumbent[1], search_reps, int(seed), search_iter)
            found = em_candidate(search_model, f"seed{seed}", start) if start is not None else None
            if found is None:
                agree = 0
                continue
            optima.append(found)
            agree = agree + 1 if _same_optimum((found[0], found[1]), (incumbent[0], incumbent[1]), names, k) else 0
            if agree >= 2:
                break
        detail["seeds_used"] = seeds_used
    # distinct optima, best first
    optima.sort(key=lambda o: -o[0])
    distinct: list[tuple[float, np.ndarray, str, bool]] = []
    for o in optima:
        if not any(_same_optimum((o[0], o[1]), (d[0], d[1]), names, k) for d in distinct):
            distinct.append(o)
    fine: list[tuple[float, np.ndarray, str, bool]] = []
    if coarse:
        # map the best distinct coarse optima to daily starts and run EM on the daily data
        for llf_c, params_c, label, _ in distinct[:2]:
            start = guarded(label + "/daily", _coarse_to_fine, spec, model, values, params_c, search_model,
                            COARSE_BLOCK)
            if start is not None and (found := em_candidate(model, label + "/daily", start)) is not None:
                fine.append(found)
        for label, start in candidates:
            if (found := em_candidate(model, label, start)) is not None:
                fine.append(found)
    elif search_model is model and not warm:
        fine = list(distinct)
    else:
        for label, start in candidates:
            if (found := em_candidate(model, label, start)) is not None:
                fine.append(found)
        if spec.order == 0:
            for i, start in enumerate(data_driven_starts(model, values)[:1]):
                if (found := em_candidate(model, f"data{i}", start)) is not None:
                    fine.append(found)
    # statsmodels' EM step is exact only when every mean and variance switches (closed-form
    # weighted moments); with a common mean/variance or AR terms its M-step is approximate and EM
    # can stall away from the optimum: then every distinct candidate is finished by BFGS before
    # the likelihoods are compared (such models are small: few regimes or short samples)
    exact = exact_em(spec)
    if not exact:
        finished = []
        for llf, params, label, _ in fine:
            params_b, llf_b, ok = _polish(model, params, POLISH_MAXITER_LONG)
            if not np.isfinite(llf_b) or llf_b < llf:
                params_b, llf_b, ok = params, llf, False
            finished.append((llf_b, params_b, label, ok))
        fine = finished
    fine.sort(key=lambda f: -f[0])
    starts = len(optima) + len(candidates)

    chosen = None
    em_converged = True
    if fine:  # the best log-likelihood wins; if it is degenerate the fit is rejected (no second-best)
        llf, params, label, conv = fine[0]
        reasons = degenerate_reasons(params, names, k, values, spec.min_var_ratio)
        if reasons:
            rejected.append(f"{label}: llf {llf:.3f}: " + "; ".join(reasons))
        else:
            chosen, em_converged = (llf, params, label), conv
    converged = False
    if chosen is not None:
        llf0, params0, label = chosen
        detail["search_seconds"] = time.perf_counter() - t0
        t_polish = time.perf_counter()
        tol = POLISH_RTOL * max(1.0, abs(llf0))

        def polish(params_in, llf_in, maxiter):
            params_out, llf_out, bfgs_ok = _polish(model, params_in, maxiter)
            if not (np.isfinite(llf_out) and llf_out >= llf_in - 1e-6) or degenerate_reasons(
                    params_out, names, k, values, spec.min_var_ratio):
                return params_in, llf_in, False
            return params_out, llf_out, bfgs_ok

        # a short BFGS polish after EM; when it still moves the log-likelihood (EM stopped on a drop
        # or far from the optimum, e.g. statsmodels' approximate M-step for a non-switching mean),
        # BFGS gets room to finish. converged = BFGS met its gradient tolerance, or the last
        # optimiser step moved llf by less than POLISH_RTOL (relative).
        short = polish_maxiter if (em_converged and exact) else POLISH_MAXITER_LONG
        params1, llf1, bfgs_ok = polish(params0, llf0, short)
        converged = bfgs_ok or (short == polish_maxiter and abs(llf1 - llf0) < tol)
        if not converged:
            params2, llf2, bfgs_ok = polish(params1, llf1, POLISH_MAXITER_LONG)
            converged = bfgs_ok or abs(llf2 - llf1) < tol
            params1, llf1 = params2, llf2
        detail.update(start_label=label, em_llf=llf0, em_converged=em_converged, polish_llf=llf1, polish_seconds=time.perf_counter() - t_polish)
        if not converged:
            rejected.append(f"{label}: optimiser did not converge (llf {llf0:.4f} -> {llf1:.4f})")
            chosen = None
        else:
            chosen = (llf1, params1, label)
    detail["rejected"] = rejected
    elapsed = time.perf_counter() - t0
    if chosen is None:
        if previous is None:
            raise ModelError(f"model {spec.id}: no acceptable fit ({' | '.join(rejected) or 'no candidates'}) "
                             "and no earlier accepted parameters to fall back on")
        out = evaluate(y, spec, previous, kind="warm" if warm else "cold")
        return dataclasses.replace(out, fallback=True, accepted=True, converged=False,
                                   reasons=tuple(rejected), starts=starts,
                                   seconds=time.perf_counter() - t0, detail=detail)
    llf, params, _ = chosen
    order = relabel_order(params, names, k)
    out = _outcome(spec, model, y, permute_params(params, names, k, order), kind="warm" if warm else "cold")
    return dataclasses.replace(out, converged=converged, mapping=tuple(order), starts=starts,
                               seconds=elapsed + out.seconds, detail=detail, reasons=tuple(rejected))


def _outcome(spec: RegimeSpec, model, y: pd.Series, params: np.ndarray, kind: str) -> FitOutcome:
    t0 = time.perf_counter()
    with _Quiet():
        res = model.smooth(np.asarray(params, dtype=float), cov_type="none")
    filtered = np.asarray(res.filtered_marginal_probabilities)
    smoothed = np.asarray(res.smoothed_marginal_probabilities)
    k = spec.k_regimes
    if filtered.shape[1] != k:  # (nobs, k) expected; older statsmodels returned (k, nobs) for arrays
        filtered, smoothed = filtered.T, smoothed.T
    # an AR model loses `order` observations at the start
    dates = pd.DatetimeIndex(y.index[len(y) - filtered.shape[0]:], name="date")
    names = tuple(model.param_names)
    k = spec.k_regimes
    return FitOutcome(spec=spec, params=np.asarray(params, dtype=float), param_names=names, llf=float(res.llf),
                      nobs=int(filtered.shape[0]), converged=True, accepted=True, fallback=False,
                      reasons=tuple(degenerate_reasons(params, names, k)), mapping=tuple(range(k)), dates=dates,
                      filtered=filtered, smoothed=smoothed, kind=kind, seconds=time.perf_counter() - t0)


def evaluate(y: pd.Series, spec: RegimeSpec, params: np.ndarray, kind: str = "filter") -> FitOutcome:
    """Filter and smooth `y` with fixed (already relabelled) parameters -- no fitting."""
    values = np.asarray(y, dtype=float)
    model = build_model(spec, values)
    if len(params) != len(model.param_names):
        raise ModelError(f"model {spec.id}: {len(params)} stored parameters, the spec needs {len(model.param_names)}")
    return _outcome(spec, model, y, np.asarray(params, dtype=float), kind)
