"""Quarantined values (table `quarantine`, migration 0010): fetched values a plausibility rule
refused (`stresswatch.plausibility`), kept with the reason and the archived payload they came from
instead of being stored as observations. `stresswatch status` lists them.

Writes join the open transaction (the pipeline saves a partition's rejects in the partition's
transaction); the same value from the same payload is kept once.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, TypedDict

from stresswatch.clock import utc_stamp
from stresswatch.store.database import Database


class QuarantineRow(TypedDict):
    """One quarantined value (`value` as text: "inf" and "1e+300" survive)."""

    id: int
    source: str
    series_id: str
    date: str
    value: str
    reason: str
    payload_id: int | None
    fetched_at: str


class QuarantineCount(TypedDict):
    series_id: str
    count: int
    last_fetched: str
    last_reason: str


class Quarantine:
    """The quarantine table."""

    def __init__(self, db: Database):
        self._db = db

    def add(self, source: str, rejects: Iterable[tuple[str, dt.date, float, str]], *, payload_id: int | None,
            fetched_at: dt.datetime) -> int:
        """Keep (series id, date, value, reason) rejects of one payload; returns how many were new."""
        rows = [(source, series_id, date.isoformat(), repr(float(value)), reason, payload_id, utc_stamp(fetched_at))
                for series_id, date, value, reason in rejects]
        if not rows:
            return 0
        with self._db.transaction():
            before = self._count()
            self._db.executemany(
                """INSERT OR IGNORE INTO quarantine (source, series_id, date, value, reason, payload_id, fetched_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""", rows)
            return self._count() - before

    def delete(self, source: str) -> int:
        """Forget the rejects of `source` (before a reparse judges its payloads again)."""
        with self._db.transaction():
            return self._db.execute("DELETE FROM quarantine WHERE source = ?", (source,)).rowcount

    def rows(self, source: str | None = None, limit: int | None = None) -> list[QuarantineRow]:
        """Quarantined values, newest fetch first (then series and date)."""
        sql = "SELECT * FROM quarantine"
        args: list[object] = []
        if source:
            sql += " WHERE source = ?"
            args.append(source)
        sql += " ORDER BY fetched_at DESC, series_id, date"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        return [QuarantineRow(**dict(r)) for r in self._db.query(sql, args)]  # type: ignore[typeddict-item]

    def counts(self) -> list[QuarantineCount]:
        """Per series: how many values are quarantined, when the last came, and why."""
        rows = self._db.query(
            """SELECT series_id, COUNT(*) AS count, MAX(fetched_at) AS last_fetched,
                      (SELECT reason FROM quarantine q2 WHERE q2.series_id = q.series_id
                       ORDER BY fetched_at DESC, id DESC LIMIT 1) AS last_reason
               FROM quarantine q GROUP BY series_id ORDER BY series_id""")
        return [QuarantineCount(**dict(r)) for r in rows]  # type: ignore[typeddict-item]

    def _count(self) -> int:
        row = self._db.query_one("SELECT COUNT(*) FROM quarantine")
        return int(row[0]) if row else 0
