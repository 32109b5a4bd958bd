"""Backtests of regime models: the real-time answers of a replayed deployment (tables
`regime_backtests`, `regime_backtest_rows`; migration 0011).

A backtest is keyed by model, spec hash, policy hash and its first day; it holds one row per
business day from `first_asof` to `last_asof` and the policy state after `last_asof`, so a rerun
reads the rows and an extension resumes from the state. `append` writes a batch of rows, the new
last day, state and data mark in one transaction (an interrupted run keeps every batch it
finished); `reset` drops the rows of a backtest whose data changed. `stresswatch.regimes.backtest`
decides what to store; this module only keeps the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

from stresswatch.store.database import Database

MAX_REGIMES = 4
ROW_COLUMNS = ("asof", "date", "regime", "p_stress", "f0", "f1", "f2", "f3", "action", "fit_asof")


@dataclass(frozen=True)
class BacktestRow:
    """One stored backtest (without its daily rows)."""

    id: int
    model_id: str
    spec_hash: str
    policy_hash: str
    first_asof: dt.date
    last_asof: dt.date | None
    spec: dict[str, Any]
    policy: dict[str, Any]
    state: str | None
    data_mark: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class DayRow:
    """What the model said on one business day of a backtest."""

    asof: dt.date
    date: dt.date | None
    regime: str | None
    p_stress: float | None
    probabilities: tuple[float, ...]
    action: str
    fit_asof: dt.date | None


def _backtest(r: Any) -> BacktestRow:
    return BacktestRow(
        id=int(r["id"]), model_id=r["model_id"], spec_hash=r["spec_hash"], policy_hash=r["policy_hash"],
        first_asof=dt.date.fromisoformat(r["first_asof"]),
        last_asof=dt.date.fromisoformat(r["last_asof"]) if r["last_asof"] else None,
        spec=json.loads(r["spec"]), policy=json.loads(r["policy"]), state=r["state"], data_mark=r["data_mark"],
        created_at=r["created_at"], updated_at=r["updated_at"])


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


class Backtests:
    """Stored backtests and their daily rows."""

    def __init__(self, db: Database):
        self._db = db

    # -- writes ---------------------------------------------------------------------------------
    def create(self, model_id: str, spec_hash: str, policy_hash: str, first_asof: dt.date, spec: dict[str, Any],
               policy: dict[str, Any]) -> BacktestRow:
        """The backtest with this key, created empty when there is none."""
        now = self._db.now_text()
        with self._db.transaction():
            self._db.execute(
                "INSERT OR IGNORE INTO regime_backtests (model_id, spec_hash, policy_hash, first_asof, spec, policy, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (model_id, spec_hash, policy_hash, first_asof.isoformat(), json.dumps(spec), json.dumps(policy),
                 now, now))
        found = self.find(model_id, spec_hash, policy_hash, first_asof)
        assert found is not None
        return found

    def append(self, backtest_id: int, rows: Iterable[DayRow], *, last_asof: dt.date, state: str | None,
               data_mark: str) -> None:
        """Store a batch of daily rows (replacing rows of the same days) and where the backtest now
        stands, in one transaction."""
        values = []
        for row in rows:
            probs = list(row.probabilities)[:MAX_REGIMES] + [None] * (MAX_REGIMES - len(row.probabilities))
            values.append((backtest_id, row.asof.isoformat(), _iso(row.date), row.regime, row.p_stress, *probs,
                           row.action, _iso(row.fit_asof)))
        with self._db.transaction():
            self._db.executemany(
                f"INSERT OR REPLACE INTO regime_backtest_rows (backtest_id, {', '.join(ROW_COLUMNS)}) "
                f"VALUES ({', '.join('?' * (len(ROW_COLUMNS) + 1))})", values)
            self._db.execute("UPDATE regime_backtests SET last_asof = ?, state = ?, data_mark = ?, updated_at = ? "
                             "WHERE id = ?", (last_asof.isoformat(), state, data_mark, self._db.now_text(),
                                              backtest_id))

    def reset(self, backtest_id: int) -> None:
        """Drop every row and the state (the data the backtest was made from changed)."""
        with self._db.transaction():
            self._db.execute("DELETE FROM regime_backtest_rows WHERE backtest_id = ?", (backtest_id,))
            self._db.execute("UPDATE regime_backtests SET last_asof = NULL, state = NULL, data_mark = NULL, "
                             "updated_at = ? WHERE id = ?", (self._db.now_text(), backtest_id))

    def delete(self, backtest_id: int) -> None:
        with self._db.transaction():
            self._db.execute("DELETE FROM regime_backtests WHERE id = ?", (backtest_id,))

    # -- reads ----------------------------------------------------------------------------------
    def find(self, model_id: str, spec_hash: str, policy_hash: str, first_asof: dt.date) -> BacktestRow | None:
        row = self._db.query_one(
            "SELECT * FROM regime_backtests WHERE model_id = ? AND spec_hash = ? AND policy_hash = ? "
            "AND first_asof = ?", (model_id, spec_hash, policy_hash, first_asof.isoformat()))
        return _backtest(row) if row else None

    def of_model(self, model_id: str | None = None, spec_hash: str | None = None) -> list[BacktestRow]:
        """Stored backtests (of one model, of one spec), the earliest first day first."""
        sql, args = "SELECT * FROM regime_backtests WHERE 1 = 1", []
        if model_id is not None:
            sql += " AND model_id = ?"
            args.append(model_id)
        if spec_hash is not None:
            sql += " AND spec_hash = ?"
            args.append(spec_hash)
        rows = self._db.query(sql + " ORDER BY model_id, first_asof, id", args)
        return [_backtest(r) for r in rows]

    def rows(self, backtest_id: int, start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
        """Daily rows from `start` to `end` (both included): DataFrame[asof, date, regime, p_stress,
        f0..f3, action, fit_asof], ordered by asof; dates as Timestamps (NaT: no answer)."""
        sql, args = f"SELECT {', '.join(ROW_COLUMNS)} FROM regime_backtest_rows WHERE backtest_id = ?", [backtest_id]
        if start is not None:
            sql += " AND asof >= ?"
            args.append(start.isoformat())
        if end is not None:
            sql += " AND asof <= ?"
            args.append(end.isoformat())
        rows = self._db.query(sql + " ORDER BY asof", args)
        out = pd.DataFrame({c: [r[c] for r in rows] for c in ROW_COLUMNS}, columns=list(ROW_COLUMNS))
        for c in ("asof", "date", "fit_asof"):
            out[c] = pd.to_datetime(out[c])
        for c in ("p_stress", "f0", "f1", "f2", "f3"):
            out[c] = pd.to_numeric(out[c]).astype(float)
        return out
