"""The run ledger (table `runs`, migration 0001): one row per (job, partition).

Fetch jobs are `fetch:<source>` with a calendar window as partition; the daily cycle uses
`day:<step>` with the date. A unit is marked running (`start`, committed at once unless a
transaction is open) and finished (`finish`); call `finish` inside the transaction that writes the
unit's data so both commit together.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping, TypedDict

from stresswatch.redaction import redact
from stresswatch.store.database import Database, iso


class LedgerRow(TypedDict):
    """One `runs` row (dates and times as stored text)."""

    job: str
    partition: str
    window_start: str | None
    window_end: str | None
    covered_from: str | None
    covered_to: str | None
    status: str
    attempts: int
    rows: int
    error: str | None
    detail: str | None  # JSON
    started_at: str | None
    finished_at: str | None
    last_success: str | None


class Ledger:
    """The `runs` table."""

    def __init__(self, db: Database):
        self._db = db

    def get(self, job: str, partition: str) -> LedgerRow | None:
        row = self._db.query_one("SELECT * FROM runs WHERE job = ? AND partition = ?", (job, partition))
        return LedgerRow(**dict(row)) if row else None  # type: ignore[typeddict-item]

    def rows(self, job_prefix: str | None = None) -> list[LedgerRow]:
        """Every row, or those whose job starts with `job_prefix`, ordered by job and partition."""
        if job_prefix:
            rows = self._db.query("SELECT * FROM runs WHERE job LIKE ? ORDER BY job, partition",
                                  (job_prefix.replace("%", r"\%") + "%",))
        else:
            rows = self._db.query("SELECT * FROM runs ORDER BY job, partition")
        return [LedgerRow(**dict(r)) for r in rows]  # type: ignore[typeddict-item]

    def start(self, job: str, partition: str, window_start: dt.date | None = None,
              window_end: dt.date | None = None) -> None:
        """Mark a unit as running (attempts + 1). Joins the open transaction, else commits at once."""
        with self._db.transaction():
            self._db.execute(
                """INSERT INTO runs (job, partition, window_start, window_end, status, attempts, started_at)
                   VALUES (?, ?, ?, ?, 'running', 1, ?)
                   ON CONFLICT(job, partition) DO UPDATE SET status = 'running', attempts = runs.attempts + 1,
                     started_at = excluded.started_at,
                     window_start = COALESCE(excluded.window_start, runs.window_start),
                     window_end = COALESCE(excluded.window_end, runs.window_end)""",
                (job, partition, iso(window_start), iso(window_end), self._db.now_text()))

    def finish(self, job: str, partition: str, status: str, rows: int = 0, error: str | None = None,
               detail: Mapping[str, Any] | None = None, covered: tuple[dt.date, dt.date] | None = None) -> None:
        """Record the outcome of a unit (error and detail redacted): `success`, `failed`, `skipped` or
        `interrupted` (stopped by a signal; migration 0010). Inside `Store.transaction()` it
        commits together with the unit's data. `covered` (fetch jobs): the date range now complete."""
        now = self._db.now_text()
        with self._db.transaction():
            self._db.execute(
                """INSERT INTO runs (job, partition, status, attempts, rows, error, detail, started_at, finished_at,
                                     last_success, covered_from, covered_to)
                   VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(job, partition) DO UPDATE SET status = excluded.status, rows = excluded.rows,
                     error = excluded.error, detail = excluded.detail, finished_at = excluded.finished_at,
                     last_success = COALESCE(excluded.last_success, runs.last_success),
                     covered_from = COALESCE(excluded.covered_from, runs.covered_from),
                     covered_to = COALESCE(excluded.covered_to, runs.covered_to)""",
                (job, partition, status, rows, redact(error) if error else None,
                 redact(json.dumps(dict(detail), default=str)) if detail else None, now, now,
                 now if status == "success" else None, iso(covered[0]) if covered else None,
                 iso(covered[1]) if covered else None))

    def close_interrupted(self) -> list[tuple[str, str]]:
        """Mark every `running` row failed ("interrupted"): called by a writer that has just taken
        the single-instance lock, when no other writer can be running, so these rows belong to a
        process that died (SIGKILL, power cut) or was stopped by a disk or database failure before
        it could record the outcome. Returns the (job, partition) pairs closed."""
        rows = self._db.query("SELECT job, partition FROM runs WHERE status = 'running'")
        if rows:
            with self._db.transaction():
                self._db.execute(
                    "UPDATE runs SET status = 'failed', finished_at = ?, error = ? WHERE status = 'running'",
                    (self._db.now_text(), "interrupted: the writer stopped before recording an outcome"))
        return [(r["job"], r["partition"]) for r in rows]

    def failing_streak(self, source: str, day: dt.date) -> int:
        """Consecutive daily runs (`day:fetch` rows, the latest 60 up to `day`) whose fetch step
        recorded `source` among its failed sources."""
        rows = self._db.query(
            "SELECT partition, detail FROM runs WHERE job = 'day:fetch' AND partition <= ? ORDER BY partition DESC "
            "LIMIT 60", (day.isoformat(),))
        streak = 0
        for row in rows:
            try:
                failed = json.loads(row["detail"] or "{}").get("failed_sources", [])
            except (ValueError, AttributeError):
                failed = []
            if source not in failed:
                break
            streak += 1
        return streak
