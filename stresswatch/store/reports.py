"""The reports' own tables (migration 0006): `report_index` (rendered reports with their headline
state) and `report_ledger_snapshots` (the run ledger's facts per source as known at the end of a
report date, frozen once that date is over; `stresswatch.reports.archive` decides when)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, TypedDict

from stresswatch.store.database import Database


class ReportIndexRow(TypedDict):
    date: str
    out_dir: str
    generated_at: str
    regime: str | None
    p_stress: float | None
    formats: str  # comma-separated
    warnings: int


class LedgerFacts(TypedDict):
    """A source's ledger facts as known on a date."""

    last_success: str | None
    last_error: str | None
    last_error_at: str | None
    failed: int


class ReportTables:
    """The report index and ledger snapshots."""

    def __init__(self, db: Database):
        self._db = db

    # -- index ----------------------------------------------------------------------------------
    def record(self, day: dt.date, out_dir: str, generated_at: str, regime: str | None, p_stress: float | None,
               formats: Iterable[str], warnings: int) -> None:
        """Insert or replace the index row of the report for `day` in `out_dir`."""
        with self._db.transaction():
            self._db.execute(
                """INSERT INTO report_index (date, out_dir, generated_at, regime, p_stress, formats, warnings)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(date, out_dir) DO UPDATE SET generated_at = excluded.generated_at,
                     regime = excluded.regime, p_stress = excluded.p_stress, formats = excluded.formats,
                     warnings = excluded.warnings""",
                (day.isoformat(), out_dir, generated_at, regime, p_stress, ",".join(formats), warnings))

    def index(self, out_dir: str | None = None) -> list[ReportIndexRow]:
        """Rendered reports (of one folder, or all), newest date first."""
        sql = "SELECT * FROM report_index"
        args: list[Any] = []
        if out_dir is not None:
            sql += " WHERE out_dir = ?"
            args.append(out_dir)
        return [ReportIndexRow(**dict(r)) for r in  # type: ignore[typeddict-item]
                self._db.query(sql + " ORDER BY date DESC", args)]

    # -- ledger snapshots -----------------------------------------------------------------------
    def snapshot(self, day: dt.date) -> dict[str, LedgerFacts]:
        """The stored ledger facts for `day`, per source (empty when none were taken)."""
        return {r["source"]: LedgerFacts(last_success=r["last_success"], last_error=r["last_error"],
                                         last_error_at=r["last_error_at"], failed=r["failed"])
                for r in self._db.query("SELECT * FROM report_ledger_snapshots WHERE date = ?", (day.isoformat(),))}

    def save_snapshot(self, day: dt.date, facts: Mapping[str, Mapping[str, Any]], taken_at: str | None = None) -> None:
        """Insert or replace the facts of each source in `facts` for `day` (taken now, unless given)."""
        taken_at = taken_at or self._db.now_text()
        with self._db.transaction():
            for source, f in facts.items():
                self._db.execute(
                    """INSERT INTO report_ledger_snapshots
                       (date, source, last_success, last_error, last_error_at, failed, taken_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT(date, source) DO UPDATE SET last_success = excluded.last_success,
                         last_error = excluded.last_error, last_error_at = excluded.last_error_at,
                         failed = excluded.failed, taken_at = excluded.taken_at""",
                    (day.isoformat(), source, f["last_success"], f["last_error"], f["last_error_at"], f["failed"],
                     taken_at))
