"""Simulated regime data, fixtures and settings shared by the regimes tests (real statsmodels fits on series
with known regimes; real stores in a temp folder)."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.regimes.fit import fit_robust
from stresswatch.regimes.spec import RegimeSpec
from tests.conftest import settings_for

FAST = {"search_reps": 4, "seeds": (1, 2)}
P2 = np.array([[0.99, 0.03], [0.01, 0.97]])  # stay 0.99 calm / 0.97 stress
SIM_MODEL = {"id": "sim", "series": "sim.x", "transform": "level", "k_regimes": 2, "switching_mean": False,
             "switching_variance": True, "start": dt.date(2000, 1, 1)}


def simulate(n: int, P: np.ndarray, means, sigmas, seed: int, start_state: int = 0):
    """Markov chain (column-stochastic P) and Gaussian draws; returns (values, states)."""
    rng = np.random.default_rng(seed)
    k = len(means)
    states = np.empty(n, dtype=int)
    s = start_state
    for t in range(n):
        s = rng.choice(k, p=P[:, s]) if t else s
        states[t] = s
    y = np.asarray(means)[states] + np.asarray(sigmas)[states] * rng.standard_normal(n)
    return y, states


def statsmodels_test_data(module: str, name: str) -> list[float]:
    """A data list shipped in statsmodels' regime-switching test modules, read without importing
    the module (importing it registers pytest marks our --strict-markers run rejects)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec(f"statsmodels.tsa.regime_switching.tests.{module}")
    if spec is None or spec.origin is None:
        pytest.skip("statsmodels test modules are not installed")
    tree = ast.parse(open(spec.origin, encoding="utf-8").read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return list(ast.literal_eval(node.value))
    pytest.skip(f"{name} not found in {spec.origin}")


def as_series(values, start="2010-01-04", name="sim") -> pd.Series:
    return pd.Series(values, index=pd.bdate_range(start, periods=len(values), name="date"), name=name)


def sim_settings(tmp_path, **extra):
    return settings_for(tmp_path, **{"regimes.models": [SIM_MODEL], "regimes.search_reps": 4,
                                     "regimes.seeds": [1, 2], **extra})


def write_sim(store, series: pd.Series, fetched=dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)):
    store.observations.upsert_series([SeriesInfo("sim.x", "sim", "simulated", "x", "D")])
    store.observations.write_observations([Observation("sim.x", d.date(), float(v)) for d, v in series.items()],
                                          fetched_at=fetched)


@pytest.fixture(scope="module")
def sim2():
    """1,500 business days of a 2-regime variance-switching series, and its true states."""
    y, states = simulate(1500, P2, [0.0, 0.0], [0.5, 2.0], seed=7)
    return as_series(y), states


@pytest.fixture(scope="module")
def spec2():
    return RegimeSpec(id="sim", series="sim.x", transform="level", k_regimes=2, switching_mean=False)


@pytest.fixture(scope="module")
def fit2(sim2, spec2):
    return fit_robust(sim2[0], spec2, **FAST)


def sim_cli(tmp_path, *args, regimes_extra: str = ""):
    """Run the CLI on tmp_path/sw.db with a config whose headline is the simulated series `sim.x`
    (`regimes_extra`: more `[regimes]` lines); returns (exit code, stdout)."""
    from stresswatch.cli import main

    cfg = tmp_path / "sw.toml"
    cfg.write_text(f'[regimes]\nheadline = "sim"\nsearch_reps = 4\nseeds = [1, 2]\n{regimes_extra}'
                   '[[regimes.models]]\nid = "sim"\nseries = "sim.x"\ntransform = "level"\n'
                   'k_regimes = 2\nswitching_mean = false\nstart = 2000-01-01\n')
    out = io.StringIO()
    rc = main(["--config", str(cfg), "--store", str(tmp_path / "sw.db"), *args], out=out)
    return rc, out.getvalue()
