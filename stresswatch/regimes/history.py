"""A model's history of P(stress) as of a run, honest about where each number comes from.

Per model period up to the run's last observation (`build_history`):

* **real time** where the model answered on some day: the answer stored by the daily run of that
  day, or the row of a backtest of the same spec and policy (what the deployment would have said
  that day, from the data known that day); per period the latest answer known by the run's asof
  (a weekly model's week in progress and the completed week are one period);
* **hindsight** elsewhere: the run's fit's parameters filtered over the input as known on the
  run's asof (`fit_asof` names that fit), computed on demand (regimes/filtering.py, no statsmodels).

`p_stress_smoothed` / `p_smoothed_i` are always hindsight: the Kim smoother with the run's fit over
the same input. Nothing is stored here; the rows say their `basis` and `fit_asof`.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from stresswatch.regimes import filtering
from stresswatch.regimes.inputs import read_input
from stresswatch.regimes.policy import Policy
from stresswatch.regimes.runs import RunRecord, fit_asof, real_time_answers
from stresswatch.regimes.spec import STRENGTHENING, most_likely
from stresswatch.store import Store

REAL_TIME, HINDSIGHT = "real-time", "hindsight"


def _period_keys(dates: pd.DatetimeIndex, weekly: bool) -> pd.Index:
    return pd.Index(dates.to_period("W-FRI").start_time if weekly else dates)


def backtest_answers(store: Store, run: RunRecord, policy: Policy) -> pd.DataFrame:
    """Rows of the stored backtest of the run's spec and policy (the earliest-starting one) with
    asof <= the run's asof, as answers: DataFrame[asof, date, regime, p_stress, fit_asof, p_filtered_i]."""
    k = run.spec.k_regimes
    found = [b for b in store.backtests.of_model(run.model_id, run.spec_hash)
             if b.policy_hash == policy.fingerprint() and b.last_asof is not None]
    columns = ["asof", "date", "regime", "p_stress", "fit_asof", *[f"p_filtered_{i}" for i in range(k)]]
    if not found:
        return pd.DataFrame(columns=columns)
    rows = store.backtests.rows(found[0].id, end=run.asof)
    rows = rows[rows["date"].notna()]
    out = rows.rename(columns={f"f{i}": f"p_filtered_{i}" for i in range(k)})
    return out[columns].reset_index(drop=True)


def _hindsight(store: Store, run: RunRecord) -> pd.DataFrame | None:
    """Filtered and smoothed probabilities with the run's parameters over the input as known on the
    run's asof (None when the input cannot be read or the model is not filtered in numpy)."""
    spec = run.spec
    if not filtering.supports(spec) or not run.params or spec.series.startswith("external."):
        return None
    inputs, _ = read_input(store, spec, run.asof)
    keep = int(np.searchsorted(inputs.dates.values, np.datetime64(pd.Timestamp(run.data_last)), side="right"))
    inputs = inputs.head(keep)
    if len(inputs) == 0:
        return None
    filtered, smoothed, _ = filtering.smooth(spec, run.param_vector, run.param_names, inputs.y)
    k = spec.k_regimes
    names = np.array(spec.regime_names, dtype=object)
    labels = names[most_likely(filtered)]
    top_is_stress = most_likely(filtered) == k - 1
    labels = np.where(top_is_stress & ~inputs.gate_open, STRENGTHENING, labels)
    out = pd.DataFrame(index=inputs.dates)
    out["regime"] = labels
    out["p_stress_filtered"] = np.where(inputs.gate_open, filtered[:, k - 1], 0.0)
    for i in range(k):
        out[f"p_filtered_{i}"] = filtered[:, i]
    for i in range(k):
        out[f"p_smoothed_{i}"] = smoothed[:, i]
    out["p_stress_smoothed"] = np.where(inputs.gate_open, smoothed[:, k - 1], 0.0)
    return out


def build_history(store: Store, run: RunRecord, policy: Policy) -> pd.DataFrame:
    """The history as of `run` (see the module docstring): DataFrame indexed by date with regime,
    p_stress_filtered, p_stress_smoothed, basis, fit_asof, p_filtered_i, p_smoothed_i."""
    k = run.spec.k_regimes
    weekly = run.spec.periodicity == "W"
    answers = pd.concat([backtest_answers(store, run, policy).assign(_order=0),
                         real_time_answers(store, run).assign(_order=1)], ignore_index=True)
    answers = answers[answers["date"] <= pd.Timestamp(run.data_last)]
    answers = answers.sort_values(["asof", "_order"], kind="stable")
    answers["_key"] = _period_keys(pd.DatetimeIndex(answers["date"]), weekly)
    answers = answers.drop_duplicates("_key", keep="last").set_index("_key")
    hind = _hindsight(store, run)
    fit_day = pd.Timestamp(fit_asof(run, store))
    if hind is not None:
        hind = hind.assign(_key=_period_keys(pd.DatetimeIndex(hind.index), weekly), _date=hind.index)
        hind = hind.drop_duplicates("_key", keep="last").set_index("_key")
    keys = answers.index if hind is None else answers.index.union(hind.index)
    out = pd.DataFrame(index=keys.sort_values())
    out["date"] = pd.NaT
    out["regime"] = None
    out["p_stress_filtered"] = np.nan
    out["p_stress_smoothed"] = np.nan
    out["basis"] = HINDSIGHT
    out["fit_asof"] = fit_day
    for i in range(k):
        out[f"p_filtered_{i}"] = np.nan
    for i in range(k):
        out[f"p_smoothed_{i}"] = np.nan
    if hind is not None:
        out.loc[hind.index, "date"] = hind["_date"]
        for col in ["regime", "p_stress_filtered", "p_stress_smoothed", *[f"p_filtered_{i}" for i in range(k)],
                    *[f"p_smoothed_{i}" for i in range(k)]]:
            out.loc[hind.index, col] = hind[col]
    if len(answers):
        idx = answers.index
        out.loc[idx, "date"] = answers["date"].to_numpy()
        out.loc[idx, "regime"] = answers["regime"].to_numpy()
        out.loc[idx, "p_stress_filtered"] = answers["p_stress"].to_numpy(dtype=float)
        out.loc[idx, "basis"] = REAL_TIME
        out.loc[idx, "fit_asof"] = pd.to_datetime(answers["fit_asof"]).to_numpy()
        for i in range(k):
            out.loc[idx, f"p_filtered_{i}"] = answers[f"p_filtered_{i}"].to_numpy(dtype=float)
    out = out.set_index(pd.DatetimeIndex(out["date"], name="date")).drop(columns="date")
    out["p_stress_filtered"] = out["p_stress_filtered"].astype(float)
    out["p_stress_smoothed"] = out["p_stress_smoothed"].astype(float)
    out["fit_asof"] = pd.to_datetime(out["fit_asof"])
    return out.sort_index()


def last_answer(history: pd.DataFrame) -> dt.date | None:
    return history.index[-1].date() if len(history) else None
