"""Pure numpy arithmetic on fitted parameters: the transition matrix, regime relabelling (calm
first, stress last), expected durations, h-step forecasts and the checks that reject a degenerate fit.

statsmodels' `regime_transition` is column-stochastic (`P[i, j] = P(S_t = i | S_{t-1} = j)`); every
matrix here follows the same convention.
"""

from __future__ import annotations

import re
from typing import Sequence

import numpy as np


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


def degenerate_reasons(params: np.ndarray, names: Sequence[str], k: int, y: np.ndarray | None = None,
                       min_var_ratio: float = 0.0) -> list[str]:
    """Why a fit cannot be accepted (empty list = fine): a regime lasting < 2 periods, a collapsed
    variance, or (with `min_var_ratio`) a stress variance below that multiple of the calm one."""
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
    elif min_var_ratio and float(np.max(var)) < min_var_ratio * float(np.min(var)):
        reasons.append(f"no distinct stress regime (variance ratio {float(np.max(var) / np.min(var)):.2f} < "
                       f"{min_var_ratio:g})")
    return reasons


