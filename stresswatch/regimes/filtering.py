"""The Hamilton filter and Kim smoother with fixed parameters, in numpy (pure; no statsmodels).

Why not statsmodels: a filter-only day must not import statsmodels (importing even its Cython
Hamilton module pulls in `statsmodels.tools`, ~0.4 s, more than the whole day's work), and a day
filters one or two new observations, which statsmodels can only do by building a model and
re-filtering everything. These functions compute what statsmodels' `MarkovRegression.filter` /
`.smooth` compute for a Markov-switching regression (AR order 0, constant or zero mean, switching
or common mean and variance): the same conditional log-likelihoods, the same steady-state start
(bounded away from zero by 1e-20, transitions by 1e-20), the same recursions.
`tests/regimes/test_filtering.py` checks them against statsmodels to 1e-12 (simulated series, a
constant-mean and a zero-mean model). Fits (and AR models, `supports`) stay with statsmodels in fit.py.

`filter_from(spec, params, names, y, pi0)` continues a filter: it starts from pi0 = P(S_T | y_1..y_T)
and applies one transition before the first new row, so filtering y[:m] and then y[m:] from the
last filtered row equals filtering y at once. (statsmodels' `initialize_known(pi0)` is not such a
continuation: its filter advances a known start one transition too many.)
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from stresswatch.regimes.matrices import _regime_values, transition_matrix
from stresswatch.regimes.spec import RegimeSpec

#: statsmodels bounds the initial probabilities and the transition matrix away from zero by this
FLOOR = 1e-20


def supports(spec: RegimeSpec) -> bool:
    """Whether these functions can filter `spec` (AR models are filtered by statsmodels)."""
    return spec.order == 0


def steady_state(P: np.ndarray) -> np.ndarray:
    """The ergodic distribution of a column-stochastic P, computed as statsmodels does."""
    k = P.shape[0]
    A = np.c_[(np.eye(k) - P).T, np.ones(k)].T
    return np.maximum(np.linalg.pinv(A)[:, -1], FLOOR)


def conditional_loglikelihoods(spec: RegimeSpec, params: np.ndarray, names: Sequence[str], y: np.ndarray) -> np.ndarray:
    """log N(y_t; mu_i, sigma2_i) per row and regime, shape (n, k)."""
    k = spec.k_regimes
    var = _regime_values(params, names, "sigma2", k)
    mean = np.zeros(k) if spec.trend == "n" else _regime_values(params, names, "const", k)
    y = np.asarray(y, dtype=float)[:, None]
    return -0.5 * (y - mean[None, :]) ** 2 / var[None, :] - 0.5 * np.log(2 * np.pi * var[None, :])


def _filter(P: np.ndarray, cll: np.ndarray, init: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hamilton recursion: (filtered n x k, predicted n x k, log-likelihood per row)."""
    n, k = cll.shape
    if n == 0:
        return np.zeros((0, k)), np.zeros((0, k)), np.zeros(0)
    shift = cll.max(axis=1)
    lik = np.exp(cll - shift[:, None]).tolist()
    Pl = np.maximum(P, FLOOR).tolist()
    f = [float(v) for v in init]
    filtered, predicted, scale = [], [], []
    rng = range(k)
    if k == 2:  # the common case, unrolled (a day of the daily cycle is a handful of these steps)
        (a, b), (c, d) = Pl
        f0, f1 = f
        for l0, l1 in lik:
            p0, p1 = a * f0 + b * f1, c * f0 + d * f1
            n0, n1 = p0 * l0, p1 * l1
            total = n0 + n1
            if not total > 0.0:
                total = 1e-300
            f0, f1 = n0 / total, n1 / total
            filtered.append((f0, f1))
            predicted.append((p0, p1))
            scale.append(total)
    else:
        for row in lik:
            pred = [sum(Pl[i][j] * f[j] for j in rng) for i in rng]
            num = [pred[i] * row[i] for i in rng]
            total = sum(num)
            if not total > 0.0:
                total = 1e-300
            f = [v / total for v in num]
            filtered.append(f)
            predicted.append(pred)
            scale.append(total)
    return np.array(filtered), np.array(predicted), np.log(np.array(scale)) + shift


def filter_from(spec: RegimeSpec, params: np.ndarray, names: Sequence[str], y: np.ndarray,
                pi0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filtered probabilities (n x k) and log-likelihood per row of `y`, started from pi0 =
    P(S | data to the previous observation), or from the steady state when pi0 is None."""
    P = transition_matrix(params, names, spec.k_regimes)
    init = steady_state(P) if pi0 is None else np.maximum(np.asarray(pi0, dtype=float) / np.sum(pi0), FLOOR)
    filtered, _, ll = _filter(P, conditional_loglikelihoods(spec, params, names, y), init)
    return filtered, ll


def smooth(spec: RegimeSpec, params: np.ndarray, names: Sequence[str], y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Filtered and smoothed (Kim) probabilities (n x k each) of the whole `y` from the steady
    state, and the log-likelihood: what statsmodels' `smooth(params)` gives."""
    P = transition_matrix(params, names, spec.k_regimes)
    filtered, predicted, ll = _filter(P, conditional_loglikelihoods(spec, params, names, y), steady_state(P))
    n, k = filtered.shape
    if n == 0:
        return filtered, filtered.copy(), 0.0
    Pl = np.maximum(P, FLOOR).tolist()
    fl = filtered.tolist()
    pl = predicted.tolist()
    s = fl[-1]
    out = [s]
    rng = range(k)
    if k == 2:
        (a, b), (c, d) = Pl
        s0, s1 = s
        for t in range(n - 2, -1, -1):
            q0, q1 = pl[t + 1]
            r0, r1 = s0 / max(q0, 1e-300), s1 / max(q1, 1e-300)
            g0, g1 = fl[t]
            s0, s1 = g0 * (a * r0 + c * r1), g1 * (b * r0 + d * r1)
            out.append((s0, s1))
    else:
        for t in range(n - 2, -1, -1):
            ratio = [s[i] / max(pl[t + 1][i], 1e-300) for i in rng]
            s = [fl[t][j] * sum(Pl[i][j] * ratio[i] for i in rng) for j in rng]
            out.append(s)
    smoothed = np.array(out[::-1])
    return filtered, smoothed, float(ll.sum())
