"""Markov-switching stress regimes: spec -> robust fit -> stored run; filter-only daily updates.

This is the only module that imports statsmodels. It owns

* `RegimeSpec` (one model: input series, transform, number of regimes, what switches) and the
  specs read from `[regimes] models` (built-in defaults when empty);
* the pure fitting core: `transform` (returns on the series' own observation calendar),
  `fit_robust` (data-driven starts + `search_reps` random starts per `rng` seed, EM to tolerance,
  a short BFGS polish, keep the best log-likelihood, relabel calm -> stress, reject degenerate
  fits, fall back to earlier accepted parameters with a flag) and `evaluate` (filter + smooth
  with given parameters, no fitting);
* `forecast` (P^h pi_T|T, which statsmodels lacks) and `find_episodes`;
* what a run stores (`save_run`; the rows are kept by `store.model_runs`), `RunRecord` over the
  stored rows, and the public read API used by reports and alerts: `update_all`, `latest_run`, `probabilities`, `episodes`,
  `summary`.

Regime labels are always ordered calm first, stress last: by regime variance, then by mean.
statsmodels' `regime_transition` is column-stochastic (`P[i, j] = P(S_t = i | S_{t-1} = j)`);
every matrix stored or returned here follows the same convention.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from stresswatch.errors import ConfigError, ModelError
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.model_runs import ModelRunRow, NewModelRun

log = logging.getLogger(__name__)

TRANSFORMS = ("level", "logret", "weekly_logret", "abs_logret")
FREQUENCIES = ("D", "W")
REGIME_NAMES = {2: ("calm", "stress"), 3: ("calm", "elevated", "stress"), 4: ("calm", "elevated", "high", "stress")}

#: default specs used when `[regimes] models` is empty
DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    # headline: weekly returns, 3 regimes -- passes every documented-episode check on 1999-2026
    # (docs/regimes.md); the daily variant reacts faster but misses most of the 2008-09 devaluation
    {"id": "ruble3", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 3,
     "switching_mean": True, "switching_variance": True, "frequency": "W", "start": dt.date(1999, 1, 1)},
    {"id": "ruble3d", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 3,
     "switching_mean": True, "switching_variance": True, "frequency": "D", "start": dt.date(1999, 1, 1)},
    {"id": "stress", "series": "stress.index", "transform": "level", "k_regimes": 2,
     "switching_mean": True, "switching_variance": True, "frequency": "D", "start": dt.date(1999, 1, 1)},
    # the floating era only: 2 regimes (calm, stress) fitted from 2013, so the same whatever history
    # the store holds beyond that; the headline when the store lacks the managed era (see `headline`)
    {"id": "ruble2f", "series": "cbr.fx.USD", "transform": "logret", "k_regimes": 2,
     "switching_mean": True, "switching_variance": True, "frequency": "W", "start": dt.date(2013, 1, 1)},
)

#: the Bank of Russia let the ruble float on 10 Nov 2014 (end of the managed band)
FLOAT_DATE = dt.date(2014, 11, 10)
#: managed-era history a full-history 3-regime ruble model needs to give that era its own calm regime
MANAGED_ERA_YEARS = 5
#: `[regimes] headline = "auto"` chooses between these two built-in models
AUTO_HEADLINE = ("ruble3", "ruble2f")

#: fitting knobs that are not settings (documented in docs/regimes.md)
EM_MAXITER = 500
EM_TOL = 1e-5  # absolute log-likelihood gain per EM iteration below which EM has converged
POLISH_MAXITER = 4  # BFGS iterations after EM (each costs k_params+1 likelihood evaluations)
POLISH_MAXITER_LONG = 100
POLISH_RTOL = 1e-5  # converged when the polish moved the log-likelihood by less than this (relative)
COARSE_MIN_OBS = 2000  # daily series longer than this get their random search on 5-period blocks
COARSE_BLOCK = 5
MIN_OBS_PER_REGIME = 30
PROB_TOL = 1e-9  # a filter run stores a date's probabilities only when they differ from its base run by more


# ---------------------------------------------------------------------------------------------
# Specs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RegimeSpec:
    """One regime model. Validates itself; `ValueError` names the bad field."""

    id: str
    series: str
    transform: str = "level"
    k_regimes: int = 2
    switching_mean: bool = True
    switching_variance: bool = True
    frequency: str = "D"
    start: dt.date = dt.date(1999, 1, 1)
    #: autoregressive order (0 = MarkovRegression; >0 = MarkovAutoregression with common AR terms)
    order: int = 0

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.\-]+", self.id or ""):
            raise ValueError(f"model id {self.id!r}: use letters, digits, '_', '-', '.'")
        if self.transform not in TRANSFORMS:
            raise ValueError(f"model {self.id}: transform {self.transform!r} is not one of {', '.join(TRANSFORMS)}")
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"model {self.id}: frequency {self.frequency!r} is not one of D, W")
        if not 2 <= int(self.k_regimes) <= 4:
            raise ValueError(f"model {self.id}: k_regimes must be 2..4, got {self.k_regimes}")
        if not (self.switching_mean or self.switching_variance):
            raise ValueError(f"model {self.id}: at least one of switching_mean / switching_variance must be true")
        if self.order < 0:
            raise ValueError(f"model {self.id}: order must be >= 0")

    @property
    def periodicity(self) -> str:
        return "W" if self.frequency == "W" or self.transform == "weekly_logret" else "D"

    @property
    def regime_names(self) -> tuple[str, ...]:
        return REGIME_NAMES[self.k_regimes]

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["start"] = self.start.isoformat()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "RegimeSpec":
        data = dict(data)
        data["start"] = dt.date.fromisoformat(str(data["start"]))
        return cls(**data)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()[:16]


def specs_from_settings(settings: Settings) -> list[RegimeSpec]:
    """The model specs of `[regimes] models`, or the built-in ones when that list is empty."""
    tables = settings["regimes"]["models"] or list(DEFAULT_MODELS)
    specs, seen = [], set()
    for table in tables:
        try:
            spec = RegimeSpec(**{k: table[k] for k in table if k in RegimeSpec.__dataclass_fields__})
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"[[regimes.models]]: {exc}") from None
        if spec.id in seen:
            raise ConfigError(f"[[regimes.models]]: model id {spec.id!r} appears twice")
        seen.add(spec.id)
        specs.append(spec)
    return specs


def headline(store: Store, settings: Settings, asof: dt.date | str | None = None) -> str:
    """The model reports, alerts, `events align` and `regimes show` use.

    `[regimes] headline` names it, or is "auto" (the default): the full-history 3-regime weekly ruble
    model (`ruble3`) when the store holds at least MANAGED_ERA_YEARS of the managed ruble before the
    float (or no ruble data at all), else the floating-era 2-regime model (`ruble2f`). A 3-regime fit
    needs the managed era to spend its calm regime on; without it the three regimes split the
    floating era into calm / elevated / extreme and the August 2023 episode reads as merely
    "elevated" (docs/regimes.md has the numbers). With custom `[[regimes.models]]` lacking either
    built-in, "auto" means the first configured model.
    """
    chosen = settings["regimes"]["headline"]
    if chosen != "auto":
        return chosen
    specs = {spec.id: spec for spec in specs_from_settings(settings)}
    full, floating = AUTO_HEADLINE
    if full not in specs or floating not in specs:
        return next(iter(specs))
    first = store.observations.first_date(specs[full].series, asof=asof)
    needed = FLOAT_DATE.replace(year=FLOAT_DATE.year - MANAGED_ERA_YEARS)
    return full if first is None or first <= needed else floating


def get_spec(settings: Settings, model_id: str) -> RegimeSpec:
    specs = {s.id: s for s in specs_from_settings(settings)}
    if model_id not in specs:
        raise ConfigError(f"unknown regime model {model_id!r}; configured models: {', '.join(sorted(specs))}")
    return specs[model_id]


# ---------------------------------------------------------------------------------------------
# Transforms (pure)
# ---------------------------------------------------------------------------------------------
def transform(series: pd.Series, spec: RegimeSpec) -> pd.Series:
    """The model input from a raw series, on the series' own observation calendar.

    Returns are `100 * diff(log x)` between consecutive *observations* (CBR has no Sunday/Monday
    rows and some Saturday rows; a return is never computed across a reindexed calendar, so no
    artificial zeros or NaN appear). `weekly_logret` (or `frequency = "W"`) first takes the last
    observation of each week ending Friday, on that observation's own date. Values before `spec.start` are dropped after the
    transform (the first return in the window still uses the previous level).
    """
    x = pd.Series(series, dtype=float).dropna().sort_index()
    x = x[~x.index.duplicated(keep="last")]
    if spec.periodicity == "W":
        # the last observation of each Saturday..Friday week, kept on its own date (a week still in
        # progress is dated by its latest observation, never by a future Friday)
        x = x.groupby(x.index.to_period("W-FRI")).tail(1)
    if spec.transform in ("logret", "weekly_logret", "abs_logret"):
        if (x <= 0).any():
            raise ModelError(f"model {spec.id}: {spec.series} has non-positive values; log returns impossible")
        y = 100.0 * np.log(x).diff()
        if spec.transform == "abs_logret":
            y = y.abs()
    else:
        y = x
    y = y.dropna()
    y = y[y.index >= pd.Timestamp(spec.start)]
    y.index.name = "date"
    return y.rename(spec.id)


# ---------------------------------------------------------------------------------------------
# statsmodels plumbing
# ---------------------------------------------------------------------------------------------
def _sm():
    # the only statsmodels import in the package; the narrow modules load ~5x faster than statsmodels.api
    from statsmodels.tsa.regime_switching.markov_autoregression import MarkovAutoregression
    from statsmodels.tsa.regime_switching.markov_regression import MarkovRegression

    return MarkovRegression, MarkovAutoregression


def build_model(spec: RegimeSpec, y: np.ndarray | pd.Series):
    """The statsmodels model for `spec` on the values `y` (a plain array; dates stay with us)."""
    MarkovRegression, MarkovAutoregression = _sm()
    endog = np.asarray(y, dtype=float)
    if spec.order > 0:
        return MarkovAutoregression(endog, k_regimes=spec.k_regimes, order=spec.order,
                                           switching_ar=False, switching_trend=spec.switching_mean,
                                           switching_variance=spec.switching_variance)
    return MarkovRegression(endog, k_regimes=spec.k_regimes, trend="c", switching_trend=spec.switching_mean,
                                   switching_variance=spec.switching_variance)


_IDX = re.compile(r"^(?P<name>.+)\[(?P<i>\d+)\]$")
_TRANS = re.compile(r"^p\[(?P<i>\d+)->(?P<j>\d+)\]$")


def transition_matrix(params: np.ndarray, names: Sequence[str], k: int) -> np.ndarray:
    """Column-stochastic k x k matrix, `P[j, i] = P(S_t = j | S_{t-1} = i)` (statsmodels convention)."""
    P = np.zeros((k, k))
    for value, name in zip(params, names):
        m = _TRANS.match(name)
        if m:
            P[int(m["j"]), int(m["i"])] = value
    P[k - 1] = 1.0 - P[: k - 1].sum(axis=0)
    return P


def _set_transition(params: np.ndarray, names: Sequence[str], P: np.ndarray) -> None:
    for pos, name in enumerate(names):
        m = _TRANS.match(name)
        if m:
            params[pos] = P[int(m["j"]), int(m["i"])]


def _regime_values(params: np.ndarray, names: Sequence[str], base: str, k: int) -> np.ndarray:
    """Per-regime values of `base` (const / sigma2); a non-switching parameter is repeated."""
    out = np.full(k, np.nan)
    for value, name in zip(params, names):
        if name == base:
            out[:] = value
        m = _IDX.match(name)
        if m and m["name"] == base:
            out[int(m["i"])] = value
    return out


def relabel_order(params: np.ndarray, names: Sequence[str], k: int) -> list[int]:
    """`order[new] = old`: calm first, stress last -- by variance, then by mean (ascending)."""
    var = _regime_values(params, names, "sigma2", k)
    mean = _regime_values(params, names, "const", k)
    var = np.nan_to_num(var, nan=0.0)
    mean = np.nan_to_num(mean, nan=0.0)
    return sorted(range(k), key=lambda i: (round(float(var[i]), 12), round(float(mean[i]), 12), i))


def permute_params(params: np.ndarray, names: Sequence[str], k: int, order: Sequence[int]) -> np.ndarray:
    """Parameters with regime `order[new]` renamed to `new` (transition matrix permuted both ways)."""
    params = np.asarray(params, dtype=float)
    out = params.copy()
    order = list(order)
    P = transition_matrix(params, names, k)
    _set_transition(out, names, P[np.ix_(order, order)])
    pos_by_name = {n: p for p, n in enumerate(names)}
    for pos, name in enumerate(names):
        m = _IDX.match(name)
        if m and not _TRANS.match(name):
            old = f"{m['name']}[{order[int(m['i'])]}]"
            out[pos] = params[pos_by_name[old]]
    return out


def durations(P: np.ndarray) -> np.ndarray:
    """Expected duration of each regime in periods, 1 / (1 - p_ii)."""
    stay = np.clip(np.diag(P), 0.0, 1.0 - 1e-15)
    return 1.0 / (1.0 - stay)


def forecast_probabilities(P: np.ndarray, pi_T: np.ndarray, h: int) -> np.ndarray:
    """Regime probabilities h periods ahead: `P^h @ pi_T` (P column-stochastic)."""
    if h < 0:
        raise ValueError("forecast horizon must be >= 0")
    out = np.linalg.matrix_power(np.asarray(P, dtype=float), int(h)) @ np.asarray(pi_T, dtype=float)
    return out / out.sum()


def degenerate_reasons(params: np.ndarray, names: Sequence[str], k: int, y: np.ndarray | None = None) -> list[str]:
    """Why a fit cannot be accepted (empty list = fine)."""
    reasons = []
    if not np.all(np.isfinite(params)):
        return ["non-finite parameters"]
    P = transition_matrix(params, names, k)
    if np.any(P < -1e-9) or np.any(P > 1 + 1e-9):
        reasons.append("transition probabilities outside [0, 1]")
    stay = np.diag(P)
    for i in range(k):
        if stay[i] < 0.5:
            reasons.append(f"p[{i}->{i}] = {stay[i]:.3f} < 0.5 (expected duration {durations(P)[i]:.2f} < 2 periods)")
    var = _regime_values(params, names, "sigma2", k)
    scale = float(np.var(y)) if y is not None and len(y) > 1 else 1.0
    if np.any(var <= 1e-8 * max(scale, 1e-12)):
        reasons.append("a regime variance collapsed to zero")
    return reasons


# ---------------------------------------------------------------------------------------------
# Fitting core (pure: arrays in, frozen results out)
# ---------------------------------------------------------------------------------------------
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
        """DataFrame indexed by date: regime (most likely, smoothed), p_stress_filtered/_smoothed and
        per-regime probabilities."""
        k = self.k
        names = self.spec.regime_names
        df = pd.DataFrame(index=self.dates)
        df["regime"] = [names[i] for i in self.smoothed.argmax(axis=1)]
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
    """Start values from regime weights (n x k): weighted means and variances, sticky transitions."""
    k = model.k_regimes
    w = np.clip(weights, 1e-6, None)
    tot = w.sum(axis=0)
    means = (w * y[:, None]).sum(axis=0) / tot
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
    local_var = np.convolve((y - np.mean(y)) ** 2, kernel, mode="same")
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
    return best_params, best_llf, it, converged


def _polish(model, params: np.ndarray, maxiter: int) -> tuple[np.ndarray, float, bool]:
    """A few BFGS iterations (statsmodels' fit, no EM, no covariance) from `params`."""
    with _Quiet():
        try:
            res = model.fit(start_params=params, transformed=True, em_iter=0, maxiter=maxiter, cov_type="none",
                            disp=0)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return params, float(model.loglike(params)), False
    converged = bool(res.mle_retvals.get("converged", False))
    return np.asarray(res.params, dtype=float), float(res.llf), converged


def _search(model, start: np.ndarray, reps: int, seed: int, search_iter: int) -> np.ndarray:
    """statsmodels' random start search (`search_reps` draws around `start`, `search_iter` EM
    steps each, best kept) with an explicit `rng` seed."""
    with _Quiet():
        if hasattr(model, "_start_params_search"):
            return np.asarray(model._start_params_search(reps, start_params=start, transformed=True,
                                                         em_iter=search_iter, rng=seed), dtype=float)
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
    min_obs = MIN_OBS_PER_REGIME * k + spec.order
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

    # local optimisation on the search data for every start, seeds with early stop
    optima: list[tuple[float, np.ndarray, str, bool]] = []

    def run(label: str, start: np.ndarray) -> tuple[float, np.ndarray]:
        params, llf, _, conv = _em(search_model, start)
        optima.append((llf, params, label, conv))
        return llf, params

    if not warm:
        for label, start in base_starts:
            run(label, start)
        incumbent = max(optima, key=lambda o: o[0])
        agree = 0
        seeds_used = []
        for seed in seeds:
            if search_reps <= 0:
                break
            seeds_used.append(int(seed))
            start = _search(search_model, incumbent[1], search_reps, int(seed), search_iter)
            llf, params = run(f"seed{seed}", start)
            if _same_optimum((llf, params), (incumbent[0], incumbent[1]), names, k):
                agree += 1
            else:
                agree = 0
            if llf > incumbent[0]:
                incumbent = (llf, params, f"seed{seed}", True)
            if agree >= 2:
                break
        detail["seeds_used"] = seeds_used
    # distinct optima, best first
    optima.sort(key=lambda o: -o[0])
    distinct: list[tuple[float, np.ndarray, str, bool]] = []
    for o in optima:
        if not any(_same_optimum((o[0], o[1]), (d[0], d[1]), names, k) for d in distinct):
            distinct.append(o)
    if coarse:
        # map the best distinct coarse optima to daily starts and run EM on the daily data
        fine = []
        for llf_c, params_c, label, _ in distinct[:2]:
            start = _coarse_to_fine(spec, model, values, params_c, search_model, COARSE_BLOCK)
            params, llf, _, conv = _em(model, start)
            fine.append((llf, params, label + "/daily", conv))
        for label, start in candidates:
            params, llf, _, conv = _em(model, start)
            fine.append((llf, params, label, conv))
    elif search_model is model and not warm:
        fine = list(distinct)
    else:
        fine = []
        for label, start in candidates:
            params, llf, _, conv = _em(model, start)
            fine.append((llf, params, label, conv))
        if spec.order == 0:
            for i, start in enumerate(data_driven_starts(model, values)[:1]):
                params, llf, _, conv = _em(model, start)
                fine.append((llf, params, f"data{i}", conv))
    # statsmodels' EM step is exact only when every mean and variance switches (closed-form
    # weighted moments); with a common mean/variance or AR terms its M-step is approximate and EM
    # can stall away from the optimum: then every distinct candidate is finished by BFGS before
    # the likelihoods are compared (such models are small: few regimes or short samples)
    exact_em = spec.order == 0 and spec.switching_mean and spec.switching_variance
    if not exact_em:
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
    rejected: list[str] = []
    em_converged = True
    if fine:  # the best log-likelihood wins; if it is degenerate the fit is rejected (no second-best)
        llf, params, label, conv = fine[0]
        reasons = degenerate_reasons(params, names, k, values)
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
            if not (np.isfinite(llf_out) and llf_out >= llf_in - 1e-6) or degenerate_reasons(params_out, names, k,
                                                                                              values):
                return params_in, llf_in, False
            return params_out, llf_out, bfgs_ok

        # a short BFGS polish after EM; when it still moves the log-likelihood (EM stopped on a drop
        # or far from the optimum, e.g. statsmodels' approximate M-step for a non-switching mean),
        # BFGS gets room to finish. converged = BFGS met its gradient tolerance, or the last
        # optimiser step moved llf by less than POLISH_RTOL (relative).
        short = polish_maxiter if (em_converged and exact_em) else POLISH_MAXITER_LONG
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


def find_episodes(p: pd.Series, threshold: float = 0.5, min_length: int = 3, merge_gap: int = 5) -> list[dict[str, Any]]:
    """Stress episodes in a probability series: runs of p > threshold; runs separated by at most
    `merge_gap` periods below it are merged; episodes shorter than `min_length` periods are dropped.
    Each episode: start, end, peak (date of max p), peak_p, length (periods in the episode)."""
    p = p.dropna()
    if p.empty:
        return []
    above = p.to_numpy() > threshold
    runs = []
    i, n = 0, len(above)
    while i < n:
        if above[i]:
            j = i
            while j + 1 < n and above[j + 1]:
                j += 1
            runs.append([i, j])
            i = j + 1
        else:
            i += 1
    merged: list[list[int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] - 1 <= merge_gap:
            merged[-1][1] = run[1]
        else:
            merged.append(run)
    out = []
    for a, b in merged:
        if b - a + 1 < min_length:
            continue
        seg = p.iloc[a: b + 1]
        out.append({"start": seg.index[0].date(), "end": seg.index[-1].date(), "peak": seg.idxmax().date(),
                    "peak_p": float(seg.max()), "mean_p": float(seg.mean()), "length": int(b - a + 1)})
    return out


# ---------------------------------------------------------------------------------------------
# Stored runs (the rows live in store.model_runs; here they become RunRecords)
# ---------------------------------------------------------------------------------------------
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


def _as_date(value: dt.date | str | pd.Timestamp | None) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _to_record(row: ModelRunRow) -> RunRecord:
    return RunRecord(
        id=row.id, model_id=row.model_id, asof=row.asof, kind=row.kind, base_run_id=row.base_run_id,
        series_id=row.series_id, params=row.params, llf=row.llf, aic=row.aic, bic=row.bic, converged=row.converged,
        accepted=row.accepted, fallback=row.fallback, reasons=row.reasons, n=row.n, data_first=row.data_first,
        data_last=row.data_last, data_vintage=row.data_vintage, spec=RegimeSpec.from_json(row.spec),
        spec_hash=row.spec_hash, mapping=row.mapping, transition=np.array(row.transition, dtype=float),
        durations=np.array(row.durations, dtype=float), pi_last=np.array(row.pi_last, dtype=float),
        detail=row.detail, seconds=row.seconds, created_at=row.created_at)


def _record_or_none(row: ModelRunRow | None) -> RunRecord | None:
    return _to_record(row) if row is not None else None


def get_run(store: Store, run_id: int) -> RunRecord | None:
    return _record_or_none(store.model_runs.get(run_id))


def latest_run(store: Store, model_id: str, asof: dt.date | str | None = None) -> RunRecord | None:
    """The latest run of `model_id` with asof <= `asof` (any asof when None), or None."""
    return _record_or_none(store.model_runs.latest(model_id, _as_date(asof)))


def list_runs(store: Store, model_id: str | None = None) -> list[RunRecord]:
    return [_to_record(r) for r in store.model_runs.rows(model_id)]


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


# ---------------------------------------------------------------------------------------------
# Daily update
# ---------------------------------------------------------------------------------------------
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
    vintage = _as_date(known[known.index <= y.index[-1]].max())
    return y, vintage


def _summary_of(run: RunRecord, status: str, frame: pd.DataFrame | None, seconds: float, message: str = "") -> RunSummary:
    k = run.spec.k_regimes
    regime = p_f = p_s = None
    if frame is not None and not frame.empty:
        last = frame.iloc[-1]
        p_f, p_s = float(last[f"p_filtered_{k - 1}"]), float(last[f"p_smoothed_{k - 1}"])
        regime = run.spec.regime_names[int(np.argmax([last[f"p_smoothed_{i}"] for i in range(k)]))]
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
    asof = _as_date(asof)
    assert isinstance(asof, dt.date)
    cfg = settings["regimes"]
    y, vintage = _read_input(store, spec, asof)
    min_obs = MIN_OBS_PER_REGIME * spec.k_regimes + spec.order
    if len(y) < min_obs:
        return RunSummary(model_id=spec.id, asof=asof, status="skipped", n=len(y),
                          message=f"{len(y)} observations of {spec.series} known by {asof}; need {min_obs}")
    last = y.index[-1].date()
    existing = store.model_runs.find(spec.id, asof)
    if existing is not None and force is None:
        run = _to_record(existing)
        if (run.spec_hash == spec.fingerprint() and run.n == len(y) and run.data_last == last
                and run.data_vintage == vintage):
            return _summary_of(run, "existing", run_frame(store, run).tail(1), time.perf_counter() - t0,
                               "already computed for this asof with the same data")
    prev = _record_or_none(store.model_runs.previous_accepted(spec.id, asof))
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
        due = int(np.busday_count(base.asof, asof)) >= int(cfg["refit_every"])
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
            out.append(RunSummary(model_id=spec.id, asof=_as_date(asof), status="failed", message=str(exc)))
    return out


# ---------------------------------------------------------------------------------------------
# Read API (reports, alerts, CLI)
# ---------------------------------------------------------------------------------------------
def probabilities(store: Store, model_id: str, asof: dt.date | str | None = None, full: bool = False) -> pd.DataFrame:
    """DataFrame[date, regime, p_stress_filtered, p_stress_smoothed] of the latest run with asof <=
    `asof` (empty when there is none). `full=True` adds per-regime columns p_filtered_i / p_smoothed_i.
    `regime` is the most likely regime by smoothed probability (calm / [elevated] / stress)."""
    run = latest_run(store, model_id, asof)
    columns = ["date", "regime", "p_stress_filtered", "p_stress_smoothed"]
    if run is None:
        return pd.DataFrame(columns=columns)
    frame = run_frame(store, run)
    k = run.spec.k_regimes
    smoothed = frame[[f"p_smoothed_{i}" for i in range(k)]].to_numpy()
    out = pd.DataFrame({
        "date": frame.index,
        "regime": [run.spec.regime_names[i] for i in smoothed.argmax(axis=1)],
        "p_stress_filtered": frame[f"p_filtered_{k - 1}"].to_numpy(),
        "p_stress_smoothed": frame[f"p_smoothed_{k - 1}"].to_numpy(),
    })
    if full:
        for col in frame.columns:
            out[col] = frame[col].to_numpy()
    return out.reset_index(drop=True)


#: the name the alerts module looks for
def read_probabilities(store: Store, model_id: str, asof: dt.date | str | None = None) -> pd.DataFrame:
    """Alias of `probabilities` (DataFrame[date, regime, p_stress_filtered, p_stress_smoothed])."""
    return probabilities(store, model_id, asof)


def forecast(run: RunRecord | FitOutcome, h: int) -> np.ndarray:
    """Regime probabilities h periods after the run's last observation: P^h pi_T|T."""
    if isinstance(run, FitOutcome):
        return run.forecast(h)
    return forecast_probabilities(run.transition, run.pi_last, h)


def episodes(store: Store, model_id: str, asof: dt.date | str | None = None, settings: Settings | None = None,
             basis: str = "smoothed", threshold: float | None = None, min_length: int | None = None,
             merge_gap: int | None = None) -> list[dict[str, Any]]:
    """Stress episodes of the latest run with asof <= `asof` from smoothed (default) or filtered
    P(stress); minimum length / merge gap / threshold from `[regimes]` unless given."""
    cfg = settings["regimes"] if settings is not None else {}
    threshold = float(cfg.get("episode_threshold", 0.5)) if threshold is None else threshold
    min_length = int(cfg.get("episode_min_length", 3)) if min_length is None else min_length
    merge_gap = int(cfg.get("episode_merge_gap", 5)) if merge_gap is None else merge_gap
    probs = probabilities(store, model_id, asof)
    if probs.empty:
        return []
    col = "p_stress_smoothed" if basis == "smoothed" else "p_stress_filtered"
    p = pd.Series(probs[col].to_numpy(), index=pd.DatetimeIndex(probs["date"]))
    return find_episodes(p, threshold, min_length, merge_gap)


def summary(store: Store, model_id: str, asof: dt.date | str | None = None,
            horizons: Sequence[int] = (1, 5, 20)) -> dict[str, Any] | None:
    """Parameters, durations, convergence, data vintage and the regime forecast of the latest run."""
    run = latest_run(store, model_id, asof)
    if run is None:
        return None
    fit = get_run(store, run.fit_run_id) or run
    names = run.spec.regime_names
    return {
        "model_id": run.model_id, "asof": run.asof, "kind": run.kind, "run_id": run.id,
        "fit_run_id": fit.id, "fit_asof": fit.asof, "series": run.series_id, "spec": run.spec.to_json(),
        "n": run.n, "data_first": run.data_first, "data_last": run.data_last, "data_vintage": run.data_vintage,
        "llf": run.llf, "aic": run.aic, "bic": run.bic, "converged": run.converged, "accepted": run.accepted,
        "fallback": run.fallback, "reasons": run.reasons, "mapping": run.mapping, "params": run.params,
        "regimes": names,
        "transition": run.transition.tolist(),
        "expected_durations": {names[i]: float(d) for i, d in enumerate(run.durations)},
        "pi_last": {names[i]: float(p) for i, p in enumerate(run.pi_last)},
        "forecast": {int(h): {names[i]: float(p) for i, p in enumerate(forecast(run, h))} for h in horizons},
    }
