"""Stored event-study alignments (tables `alignments`, `alignment_statements`,
`alignment_aggregates`; migration 0007): per date D, the alignment the daily cycle's events step
computed — one row per statement known on D with the fields `events align` and the report show,
the per-group aggregates, the headline model, the statistic, the warnings and a fingerprint of the
inputs (study settings, catalogue, confounders) the reader checks before trusting it.

Saving D replaces everything stored for D. Rows go in and come out keyed like the study's
statement table (`id`, `index`, ...); missing numbers come back as None.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from stresswatch.store.database import Database

#: statement fields stored, as named in the study's table (left) and in the table (right)
STATEMENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "statement_id"), ("date", "date"), ("t0", "t0"), ("t0_fx", "t0_fx"), ("speaker", "speaker"),
    ("key_phrase", "key_phrase"), ("tags", "tags"), ("regime", "regime"), ("p_stress_filtered", "p_stress_filtered"),
    ("p_stress_smoothed", "p_stress_smoothed"), ("index", "index_value"), ("index_percentile", "index_percentile"),
    ("d_index", "d_index"), ("abnormal", "abnormal"), ("pre_trend", "pre_trend"), ("car_rub", "car_rub"),
    ("statistic", "statistic"), ("p_value", "p_value"), ("q_value", "q_value"), ("confounded", "confounded"),
    ("confounders", "confounders"), ("match", "match"), ("pool", "pool"))
#: aggregate fields, as named by the study (left) and in the table (right)
AGGREGATE_FIELDS: tuple[tuple[str, str], ...] = (
    ("group", "group_name"), ("n", "n"), ("n_used", "n_used"), ("mean_abnormal", "mean_abnormal"),
    ("mean_d_index", "mean_d_index"), ("mean_car_rub", "mean_car_rub"), ("confounded", "confounded"),
    ("p_value", "p_value"))

_INT_COLUMNS = {"confounded", "pool", "n", "n_used"}
_DATE_COLUMNS = {"date", "t0", "t0_fx"}


@dataclass(frozen=True)
class StoredAlignment:
    """The alignment stored for one date."""

    asof: dt.date
    model_id: str
    statistic: str
    warnings: tuple[str, ...]
    inputs: str
    created_at: str
    statements: tuple[dict[str, Any], ...]  # keyed like the study's statement table
    aggregates: tuple[dict[str, Any], ...]  # keyed like the study's aggregates table


class Alignments:
    """Alignments per date."""

    def __init__(self, db: Database):
        self._db = db

    def save(self, asof: dt.date, *, model_id: str, statistic: str, warnings: Iterable[str], inputs: str,
             statements: Iterable[Mapping[str, Any]], aggregates: Iterable[Mapping[str, Any]]) -> int:
        """Replace what is stored for `asof`; returns the statement rows written."""
        day = asof.isoformat()
        s_rows = [(day, n, *(_cell(column, r.get(key)) for key, column in STATEMENT_FIELDS))
                  for n, r in enumerate(statements)]
        a_rows = [(day, n, *(_cell(column, r.get(key)) for key, column in AGGREGATE_FIELDS))
                  for n, r in enumerate(aggregates)]
        s_cols = ", ".join(c for _, c in STATEMENT_FIELDS)
        a_cols = ", ".join(c for _, c in AGGREGATE_FIELDS)
        with self._db.transaction():
            self._db.execute("DELETE FROM alignments WHERE asof = ?", (day,))  # cascades to the rows
            self._db.execute(
                "INSERT INTO alignments (asof, model_id, statistic, warnings, inputs, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (day, model_id, statistic, json.dumps(list(warnings)), inputs, self._db.now_text()))
            self._db.executemany(
                f"INSERT INTO alignment_statements (asof, position, {s_cols}) "
                f"VALUES ({', '.join('?' * (len(STATEMENT_FIELDS) + 2))})", s_rows)
            self._db.executemany(
                f"INSERT INTO alignment_aggregates (asof, position, {a_cols}) "
                f"VALUES ({', '.join('?' * (len(AGGREGATE_FIELDS) + 2))})", a_rows)
        return len(s_rows)

    def get(self, asof: dt.date) -> StoredAlignment | None:
        """The alignment stored for `asof`, or None."""
        day = asof.isoformat()
        head = self._db.query_one("SELECT * FROM alignments WHERE asof = ?", (day,))
        if head is None:
            return None
        statements = tuple({key: r[column] for key, column in STATEMENT_FIELDS} for r in self._db.query(
            "SELECT * FROM alignment_statements WHERE asof = ? ORDER BY position", (day,)))
        aggregates = tuple({key: r[column] for key, column in AGGREGATE_FIELDS} for r in self._db.query(
            "SELECT * FROM alignment_aggregates WHERE asof = ? ORDER BY position", (day,)))
        return StoredAlignment(asof=asof, model_id=head["model_id"], statistic=head["statistic"],
                               warnings=tuple(json.loads(head["warnings"])), inputs=head["inputs"],
                               created_at=head["created_at"], statements=statements, aggregates=aggregates)

    def delete(self, asof: dt.date) -> int:
        """Forget the alignment stored for `asof` (its analysis changed); returns 1 when one was."""
        with self._db.transaction():
            return self._db.execute("DELETE FROM alignments WHERE asof = ?", (asof.isoformat(),)).rowcount

    def dates(self) -> list[dt.date]:
        """Dates with a stored alignment, oldest first."""
        return [dt.date.fromisoformat(r["asof"]) for r in self._db.query("SELECT asof FROM alignments ORDER BY asof")]


def _cell(column: str, value: Any) -> Any:
    """A study value as stored: NaN -> NULL, dates -> ISO text, numpy scalars -> Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if column in _DATE_COLUMNS:
        return value.isoformat()[:10] if isinstance(value, (dt.date, dt.datetime)) else str(value)[:10]
    if column in _INT_COLUMNS:
        return int(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
