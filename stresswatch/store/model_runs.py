"""Regime model runs and their probabilities (tables `model_runs`, `regime_probs`; migrations 0002
and 0011).

A run is a fit ("cold" or "warm"-started refit) or a filter-only update ("filter") that reuses the
parameters of the fit run `base_run_id`. One run per (model_id, asof); saving again replaces it
(filter runs based on it go with it, ON DELETE CASCADE). Rows come back as plain typed values:
the spec as the dict it was stored from, matrices as nested lists, the policy state as its JSON
text. `stresswatch.regimes` turns them into its own RunRecord and decides what to store; this
module only keeps the rows.

Probabilities per run and date: filtered f0..f3 and smoothed s0..s3 (unused regimes NULL), and the
answer's state label and P(stress) (`regime`, `p_stress`; NULL in runs stored before 0011), read
and written as a DataFrame indexed by date with columns p_filtered_i / p_smoothed_i (and regime,
p_stress). Runs made by the update policy store one row, the day's answer; `answers` reads those
rows of a model's runs up to a date, which is what the model said in real time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stresswatch.store.database import Database

MAX_REGIMES = 4


@dataclass(frozen=True)
class NewModelRun:
    """What a run stores (everything but its id and creation time)."""

    model_id: str
    asof: dt.date
    kind: str  # cold | warm | filter
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
    spec: dict[str, Any]
    spec_hash: str
    mapping: list[int]
    transition: list[list[float]]
    durations: list[float]
    pi_last: list[float]
    detail: dict[str, Any]
    seconds: float
    #: JSON policy state handed to the next day (None for runs not made by the update policy)
    state: str | None = None


@dataclass(frozen=True)
class ModelRunRow(NewModelRun):
    """One stored run."""

    id: int = 0
    created_at: str = ""


_COLUMNS = tuple(f.name for f in dataclasses.fields(NewModelRun))
_JSON = ("params", "reasons", "spec", "mapping", "transition", "durations", "pi_last")
_DATES = ("asof", "data_first", "data_last", "data_vintage")
_BOOLS = ("converged", "accepted", "fallback")


def _row(r: Any) -> ModelRunRow:
    data = {c: r[c] for c in _COLUMNS}
    for c in _JSON:
        data[c] = json.loads(data[c])
    for c in _DATES:
        data[c] = dt.date.fromisoformat(str(data[c])[:10])
    for c in _BOOLS:
        data[c] = bool(data[c])
    data["detail"] = json.loads(r["detail"] or "{}")
    data.update(llf=float(r["llf"]), aic=float(r["aic"]), bic=float(r["bic"]), n=int(r["n"]),
                seconds=float(r["seconds"]))
    return ModelRunRow(id=int(r["id"]), created_at=r["created_at"], **data)


def _values(run: NewModelRun) -> tuple[Any, ...]:
    out: list[Any] = []
    for c in _COLUMNS:
        v = getattr(run, c)
        if c in _JSON:
            v = json.dumps(v)
        elif c == "detail":
            v = json.dumps(dict(v), default=str)

        elif c in _DATES:
            v = v.isoformat()
        elif c in _BOOLS:
            v = int(v)
        out.append(v)
    return tuple(out)


class ModelRuns:
    """Stored model runs and their per-date regime probabilities."""

    def __init__(self, db: Database):
        self._db = db

    # -- writes ---------------------------------------------------------------------------------
    def save(self, run: NewModelRun, probabilities: pd.DataFrame) -> int:
        """Store `run` as the run of (model_id, asof), replacing an earlier run of that same asof,
        with the given probability rows (index: dates; columns p_filtered_i, p_smoothed_i). Returns
        the new run id."""
        k = sum(1 for c in probabilities.columns if str(c).startswith("p_filtered_"))
        with self._db.transaction():
            self._db.execute("DELETE FROM model_runs WHERE model_id = ? AND asof = ?",
                             (run.model_id, run.asof.isoformat()))
            cur = self._db.execute(
                f"INSERT INTO model_runs ({', '.join(_COLUMNS)}, created_at) "
                f"VALUES ({', '.join('?' * (len(_COLUMNS) + 1))})", (*_values(run), self._db.now_text()))
            run_id = int(cur.lastrowid or 0)
            self._db.executemany("INSERT INTO regime_probs (run_id, model_id, date, f0, f1, f2, f3, s0, s1, s2, s3, "
                                 "regime, p_stress) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                 _prob_rows(run_id, run.model_id, probabilities, k))
        return run_id

    # -- reads ----------------------------------------------------------------------------------
    def get(self, run_id: int) -> ModelRunRow | None:
        row = self._db.query_one("SELECT * FROM model_runs WHERE id = ?", (run_id,))
        return _row(row) if row else None

    def find(self, model_id: str, asof: dt.date) -> ModelRunRow | None:
        """The run of `model_id` for exactly `asof`."""
        row = self._db.query_one("SELECT * FROM model_runs WHERE model_id = ? AND asof = ?",
                                 (model_id, asof.isoformat()))
        return _row(row) if row else None

    def latest(self, model_id: str, asof: dt.date | None = None) -> ModelRunRow | None:
        """The latest run of `model_id` with asof <= `asof` (any asof when None)."""
        if asof is None:
            row = self._db.query_one("SELECT * FROM model_runs WHERE model_id = ? ORDER BY asof DESC LIMIT 1",
                                     (model_id,))
        else:
            row = self._db.query_one(
                "SELECT * FROM model_runs WHERE model_id = ? AND asof <= ? ORDER BY asof DESC LIMIT 1",
                (model_id, asof.isoformat()))
        return _row(row) if row else None

    def previous_accepted(self, model_id: str, before: dt.date) -> ModelRunRow | None:
        """The latest accepted run of `model_id` with asof < `before`."""
        row = self._db.query_one(
            "SELECT * FROM model_runs WHERE model_id = ? AND asof < ? AND accepted = 1 ORDER BY asof DESC LIMIT 1",
            (model_id, before.isoformat()))
        return _row(row) if row else None

    def rows(self, model_id: str | None = None) -> list[ModelRunRow]:
        """Every run (of one model), ordered by model and asof."""
        if model_id:
            rows = self._db.query("SELECT * FROM model_runs WHERE model_id = ? ORDER BY asof", (model_id,))
        else:
            rows = self._db.query("SELECT * FROM model_runs ORDER BY model_id, asof")
        return [_row(r) for r in rows]

    def answers(self, model_id: str, spec_hash: str, asof: dt.date, k: int) -> pd.DataFrame:
        """What the accepted runs of `model_id` with this spec said on their own dates up to `asof`:
        the probability row of each run at its last observation (the day's answer). DataFrame
        [asof, date, regime, p_stress, fit_asof, p_filtered_0..k-1], ordered by asof; regime and
        p_stress are None / NaN for rows stored before migration 0011."""
        cols = ", ".join(f"p.f{i}" for i in range(k))
        rows = self._db.query(
            f"""SELECT r.asof, p.date, p.regime, p.p_stress, {cols},
                       CASE WHEN r.kind = 'filter' AND r.base_run_id IS NOT NULL
                            THEN (SELECT b.asof FROM model_runs b WHERE b.id = r.base_run_id)
                            ELSE r.asof END AS fit_asof
                FROM model_runs r JOIN regime_probs p ON p.run_id = r.id AND p.date = r.data_last
                WHERE r.model_id = ? AND r.spec_hash = ? AND r.asof <= ? AND r.accepted = 1
                ORDER BY r.asof""", (model_id, spec_hash, asof.isoformat()))
        out = pd.DataFrame({
            "asof": pd.to_datetime([r["asof"] for r in rows]),
            "date": pd.to_datetime([r["date"] for r in rows]),
            "regime": [r["regime"] for r in rows],
            "p_stress": pd.Series([r["p_stress"] for r in rows], dtype=float),
            "fit_asof": pd.to_datetime([r["fit_asof"] for r in rows]),
        })
        for i in range(k):
            out[f"p_filtered_{i}"] = pd.Series([r[4 + i] for r in rows], dtype=float)
        return out

    def answer(self, run_id: int) -> dict[str, Any] | None:
        """The probability row of run `run_id` at its last observation (its answer): date, f0..f3,
        regime, p_stress; None when the run has none."""
        row = self._db.query_one(
            "SELECT p.date, p.f0, p.f1, p.f2, p.f3, p.regime, p.p_stress FROM regime_probs p "
            "JOIN model_runs r ON p.run_id = r.id AND p.date = r.data_last WHERE r.id = ?", (run_id,))
        return dict(row) if row else None

    def probabilities(self, run_id: int, k: int) -> pd.DataFrame:
        """The probability rows stored for `run_id` itself (a filter run holds only the dates that
        differ from its base run): DataFrame indexed by date, columns p_filtered_0..k-1 then
        p_smoothed_0..k-1."""
        cols = ", ".join([f"f{i}" for i in range(k)] + [f"s{i}" for i in range(k)])
        rows = self._db.query(f"SELECT date, {cols} FROM regime_probs WHERE run_id = ? ORDER BY date", (run_id,))
        data = np.array([[r[i] for i in range(1, 2 * k + 1)] for r in rows], dtype=float).reshape(len(rows), 2 * k)
        index = pd.DatetimeIndex(pd.to_datetime([r["date"] for r in rows]), name="date")
        return pd.DataFrame(data, index=index,
                            columns=[f"p_filtered_{i}" for i in range(k)] + [f"p_smoothed_{i}" for i in range(k)])


def _prob_rows(run_id: int, model_id: str, frame: pd.DataFrame, k: int) -> list[tuple[Any, ...]]:
    rows = []
    f = frame[[f"p_filtered_{i}" for i in range(k)]].to_numpy()
    s = frame[[f"p_smoothed_{i}" for i in range(k)]].to_numpy()
    regimes = frame["regime"].tolist() if "regime" in frame else [None] * len(frame)
    p_stress = frame["p_stress"].tolist() if "p_stress" in frame else [None] * len(frame)
    pad = [None] * (MAX_REGIMES - k)
    for date, fr, sr, label, p in zip(frame.index, f, s, regimes, p_stress):
        rows.append((run_id, model_id, date.date().isoformat(), *map(float, fr), *pad, *map(float, sr), *pad,
                     label, None if p is None else float(p)))
    return rows
