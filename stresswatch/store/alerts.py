"""Alert persistence (tables `alert_state`, `alert_history`, `silences`; migration 0004).

One `alert_state` row per alert instance (a rule plus its labels, identified by a fingerprint),
with `eval_base` (migration 0008: the state it had before its last evaluated date, so that date can
be evaluated again), every state change in `alert_history`, and silences by rule and date range. What the states mean
and how they change is `stresswatch.alerts`' business; this module only keeps the rows. Labels are
stored as JSON with sorted keys.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, TypedDict

from stresswatch.store.database import Database


@dataclass(frozen=True)
class AlertStateRow:
    """One `alert_state` row (dates as ISO text)."""

    fingerprint: str
    rule_id: str
    labels: dict[str, str]
    state: str
    high_count: int
    low_count: int
    pending_since: str | None
    firing_since: str | None
    resolved_on: str | None
    last_eval_date: str | None
    last_value: float | None
    summary: str
    muted_by: str | None
    notified_state: str | None
    last_notified_date: str | None
    #: the state-machine fields before the first evaluation on `last_eval_date` (None = unknown)
    eval_base: dict[str, Any] | None = None


class HistoryRow(TypedDict):
    """One `alert_history` row; `labels` is the stored JSON text."""

    id: int
    fingerprint: str
    rule_id: str
    labels: str
    run_date: str
    from_state: str
    to_state: str
    value: float | None
    summary: str
    recorded_at: str


class SilenceRow(TypedDict):
    id: int
    rule_id: str
    starts_on: str
    ends_on: str
    created_at: str
    created_by: str
    comment: str


_STATE_COLS = tuple(f.name for f in dataclasses.fields(AlertStateRow))


def labels_json(labels: Mapping[str, str]) -> str:
    """Labels as stored: JSON with sorted keys, non-ASCII kept."""
    return json.dumps(dict(sorted(labels.items())), ensure_ascii=False)


class AlertTables:
    """Alert states, their history and silences."""

    def __init__(self, db: Database):
        self._db = db

    # -- states ---------------------------------------------------------------------------------
    def states(self) -> list[AlertStateRow]:
        """Every stored alert, ordered by rule."""
        out = []
        for r in self._db.query("SELECT * FROM alert_state ORDER BY rule_id"):
            data = {c: r[c] for c in _STATE_COLS}
            data["labels"] = json.loads(data["labels"])
            data["eval_base"] = json.loads(data["eval_base"]) if data["eval_base"] else None
            out.append(AlertStateRow(**data))
        return out

    def save_states(self, states: Iterable[AlertStateRow], updated_at: str) -> None:
        """Insert or replace alert states (joins the open transaction)."""
        sql = (f"INSERT INTO alert_state ({', '.join(_STATE_COLS)}, updated_at) "
               f"VALUES ({', '.join('?' * (len(_STATE_COLS) + 1))}) "
               f"ON CONFLICT(fingerprint) DO UPDATE SET "
               f"{', '.join(f'{c} = excluded.{c}' for c in _STATE_COLS[1:])}, updated_at = excluded.updated_at")
        with self._db.transaction():
            for st in states:
                values = [getattr(st, c) for c in _STATE_COLS]
                values[_STATE_COLS.index("labels")] = labels_json(st.labels)
                base = st.eval_base
                values[_STATE_COLS.index("eval_base")] = json.dumps(base, sort_keys=True) if base is not None else None
                self._db.execute(sql, (*values, updated_at))

    # -- history --------------------------------------------------------------------------------
    def record_change(self, *, fingerprint: str, rule_id: str, labels: Mapping[str, str], run_date: dt.date,
                      from_state: str, to_state: str, value: float | None, summary: str, recorded_at: str) -> None:
        """Append one state change to the history (joins the open transaction)."""
        with self._db.transaction():
            self._db.execute(
                """INSERT INTO alert_history (fingerprint, rule_id, labels, run_date, from_state, to_state, value,
                                             summary, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)""",
                (fingerprint, rule_id, labels_json(labels), run_date.isoformat(), from_state, to_state, value,
                 summary, recorded_at))

    def history(self, rule_id: str | None = None, limit: int | None = None) -> list[HistoryRow]:
        """State changes, newest run date first."""
        sql = "SELECT * FROM alert_history"
        args: list[Any] = []
        if rule_id:
            sql += " WHERE rule_id = ?"
            args.append(rule_id)
        sql += " ORDER BY run_date DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [HistoryRow(**dict(r)) for r in self._db.query(sql, args)]  # type: ignore[typeddict-item]

    # -- silences -------------------------------------------------------------------------------
    def add_silence(self, rule_id: str, starts_on: dt.date, ends_on: dt.date, created_at: str,
                    created_by: str = "", comment: str = "") -> int:
        with self._db.transaction():
            cur = self._db.execute(
                "INSERT INTO silences (rule_id, starts_on, ends_on, created_at, created_by, comment)"
                " VALUES (?,?,?,?,?,?)",
                (rule_id, starts_on.isoformat(), ends_on.isoformat(), created_at, created_by, comment))
            return int(cur.lastrowid or 0)

    def silences(self) -> list[SilenceRow]:
        """Every silence, latest end first."""
        return [SilenceRow(**dict(r)) for r in  # type: ignore[typeddict-item]
                self._db.query("SELECT * FROM silences ORDER BY ends_on DESC, id DESC")]

    def silenced_rules(self, day: dt.date) -> set[str]:
        """Rules with a silence covering `day`."""
        d = day.isoformat()
        return {r["rule_id"] for r in self._db.query(
            "SELECT rule_id FROM silences WHERE starts_on <= ? AND ends_on >= ?", (d, d))}

    def silenced_until(self, day: dt.date | None = None) -> dict[str, str]:
        """Per rule, the latest end of a silence ending on or after `day` (any, when None)."""
        return {r["rule_id"]: r["ends_on"] for r in self._db.query(
            "SELECT rule_id, MAX(ends_on) AS ends_on FROM silences WHERE ends_on >= ? GROUP BY rule_id",
            ((day or dt.date.min).isoformat(),))}
