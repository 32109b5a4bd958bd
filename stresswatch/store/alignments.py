"""Stored event-study alignments (tables `alignments`, `alignment_statements`,
`alignment_aggregates`; migrations 0007 and 0012): per date D, the alignment the daily cycle's
events step computed — one row per statement known on D with the fields `events align` and the
report show, the per-group aggregates, the headline model, the statistic, the warnings and a
fingerprint of the inputs (study settings, catalogue, confounders) the reader checks before
trusting it.

Saving D replaces everything stored for D. Rows go in and come out keyed like the study's
statement table (`id`, `index`, ...); missing numbers come back as None.

Packing (migration 0012): D's statement and aggregate rows are stored in D's `alignments` row as
JSON (values as the table's columns would hold them), zlib-compressed with a preset dictionary:
the JSON of a keyframe, an earlier alignment stored whole (`base` names it; a keyframe has none).
Day after day the alignment barely changes, so a packed day takes about a tenth of its rows. A
keyframe serves up to KEYFRAME_SPAN later dates; replacing or deleting one first re-packs the
dates that lean on it. Alignments stored before 0012 stay in `alignment_statements` /
`alignment_aggregates` (their `packed` is NULL) and read as before.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from stresswatch.errors import StoreError
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

_DATE_COLUMNS = {"date", "t0", "t0_fx"}
#: the tables whose columns say how a value is stored (packed rows hold what they would hold)
_ROW_TABLES = ("alignment_statements", "alignment_aggregates")
#: later dates one keyframe serves as dictionary before a date is stored whole again
KEYFRAME_SPAN = 30


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
        self._columns: dict[str, tuple[str, bool]] | None = None

    def _schema(self) -> dict[str, tuple[str, bool]]:
        """Column -> (declared type, NOT NULL) of the row tables, read from the schema once."""
        if self._columns is None:
            self._columns = {r["name"]: (str(r["type"]).upper(), bool(r["notnull"]))
                             for table in _ROW_TABLES for r in self._db.query(f"PRAGMA table_info({table})")}
        return self._columns

    def save(self, asof: dt.date, *, model_id: str, statistic: str, warnings: Iterable[str], inputs: str,
             statements: Iterable[Mapping[str, Any]], aggregates: Iterable[Mapping[str, Any]]) -> int:
        """Replace what is stored for `asof`; returns the statement rows written."""
        day = asof.isoformat()
        schema = self._schema()
        s_rows = [[_cell(column, r.get(key), schema[column][0]) for key, column in STATEMENT_FIELDS] for r in statements]
        a_rows = [[_cell(column, r.get(key), schema[column][0]) for key, column in AGGREGATE_FIELDS] for r in aggregates]
        required = {column for column, (_, not_null) in schema.items() if not_null}
        _check(day, s_rows, STATEMENT_FIELDS, "statement_id", required)
        _check(day, a_rows, AGGREGATE_FIELDS, "group_name", required)
        text = _rows_json(s_rows, a_rows)
        with self._db.transaction():
            self._release(day)
            self._db.execute("DELETE FROM alignments WHERE asof = ?", (day,))  # cascades to pre-0012 rows
            base = self._keyframe_for(day)
            self._db.execute(
                "INSERT INTO alignments (asof, model_id, statistic, warnings, inputs, created_at, packed, base) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (day, model_id, statistic, json.dumps(list(warnings)), inputs, self._db.now_text(),
                 _pack(text, self._json(base) if base else None), base))
        return len(s_rows)

    def get(self, asof: dt.date) -> StoredAlignment | None:
        """The alignment stored for `asof`, or None."""
        day = asof.isoformat()
        head = self._db.query_one("SELECT * FROM alignments WHERE asof = ?", (day,))
        if head is None:
            return None
        if head["packed"] is None:  # stored before migration 0012
            statements = tuple({key: r[column] for key, column in STATEMENT_FIELDS} for r in self._db.query(
                "SELECT * FROM alignment_statements WHERE asof = ? ORDER BY position", (day,)))
            aggregates = tuple({key: r[column] for key, column in AGGREGATE_FIELDS} for r in self._db.query(
                "SELECT * FROM alignment_aggregates WHERE asof = ? ORDER BY position", (day,)))
        else:
            data = json.loads(self._json(day))
            statements = tuple(dict(zip((key for key, _ in STATEMENT_FIELDS), r)) for r in data["statements"])
            aggregates = tuple(dict(zip((key for key, _ in AGGREGATE_FIELDS), r)) for r in data["aggregates"])
        return StoredAlignment(asof=asof, model_id=head["model_id"], statistic=head["statistic"],
                               warnings=tuple(json.loads(head["warnings"])), inputs=head["inputs"],
                               created_at=head["created_at"], statements=statements, aggregates=aggregates)

    def delete(self, asof: dt.date) -> int:
        """Forget the alignment stored for `asof` (its analysis changed); returns 1 when one was."""
        with self._db.transaction():
            self._release(asof.isoformat())
            return self._db.execute("DELETE FROM alignments WHERE asof = ?", (asof.isoformat(),)).rowcount

    def dates(self) -> list[dt.date]:
        """Dates with a stored alignment, oldest first."""
        return [dt.date.fromisoformat(r["asof"]) for r in self._db.query("SELECT asof FROM alignments ORDER BY asof")]


    # -- packing ------------------------------------------------------------------------------

    def _json(self, day: str) -> bytes:
        """The packed rows of `day` as JSON bytes (its keyframe's JSON is the dictionary)."""
        row = self._db.query_one("SELECT packed, base FROM alignments WHERE asof = ?", (day,))
        if row is None or row["packed"] is None:
            raise StoreError(f"the alignment of {day} has no packed rows")
        return _unpack(row["packed"], self._json(row["base"]) if row["base"] else None)

    def _keyframe_for(self, day: str) -> str | None:
        """The keyframe `day` is packed against: the latest one before it that serves fewer than
        KEYFRAME_SPAN dates; None (`day` is stored whole) when there is none."""
        row = self._db.query_one(
            "SELECT k.asof, (SELECT count(*) FROM alignments d WHERE d.base = k.asof) AS served FROM alignments k "
            "WHERE k.asof < ? AND k.packed IS NOT NULL AND k.base IS NULL ORDER BY k.asof DESC LIMIT 1", (day,))
        return row["asof"] if row and row["served"] < KEYFRAME_SPAN else None

    def _release(self, day: str) -> None:
        """Before `day` is replaced or deleted: the dates packed against it are packed again, the
        first of them whole (the new keyframe), the others against that one."""
        leaning = [r["asof"] for r in self._db.query("SELECT asof FROM alignments WHERE base = ? ORDER BY asof", (day,))]
        if not leaning:
            return
        texts = {d: self._json(d) for d in leaning}
        first = leaning[0]
        for d in leaning:
            base = None if d == first else first
            self._db.execute("UPDATE alignments SET packed = ?, base = ? WHERE asof = ?",
                             (_pack(texts[d], texts[first] if base else None), base, d))


def _rows_json(statements: list[list[Any]], aggregates: list[list[Any]]) -> bytes:
    return json.dumps({"statements": statements, "aggregates": aggregates}, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _pack(text: bytes, dictionary: bytes | None) -> bytes:
    packer = zlib.compressobj(9, zdict=dictionary) if dictionary else zlib.compressobj(9)
    return packer.compress(text) + packer.flush()


def _unpack(packed: bytes, dictionary: bytes | None) -> bytes:
    unpacker = zlib.decompressobj(zdict=dictionary) if dictionary else zlib.decompressobj()
    return unpacker.decompress(packed) + unpacker.flush()


def _check(day: str, rows: list[list[Any]], fields: tuple[tuple[str, str], ...], key: str,
           required: set[str]) -> None:
    """What the tables' constraints refused: a missing `required` (NOT NULL) value, a key twice in
    one date."""
    columns = [column for _, column in fields]
    for row in rows:
        for column, value in zip(columns, row):
            if value is None and column in required:
                raise StoreError(f"the alignment of {day} has a row without {column}")
    at = columns.index(key)
    keys = [row[at] for row in rows]
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})
        raise StoreError(f"the alignment of {day} has {key} {', '.join(map(str, twice))} more than once")


def _cell(column: str, value: Any, declared: str) -> Any:
    """A study value as stored in a column of type `declared` (TEXT, REAL or INTEGER): NaN -> NULL,
    dates -> ISO text, numpy scalars -> Python, numbers as the column's affinity keeps them."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if column in _DATE_COLUMNS:
        return value.isoformat()[:10] if isinstance(value, (dt.date, dt.datetime)) else str(value)[:10]
    if declared == "INTEGER":
        return int(value)
    if isinstance(value, bool):
        value = int(value)  # SQLite keeps a bool as an integer
    if declared == "REAL" and isinstance(value, int):
        return float(value)  # REAL affinity
    if isinstance(value, (int, float)) and declared != "REAL":
        return _as_text(value)  # TEXT affinity
    if isinstance(value, (float, str)):
        return value
    return str(value)


def _as_text(number: int | float) -> str:
    """A number as a TEXT column stores it (SQLite writes a REAL with 15 significant digits, and
    ".0" when it looks like an integer)."""
    if isinstance(number, int):
        return str(number)
    text = f"{number:.15g}"
    if text in ("inf", "-inf"):
        return text.replace("inf", "Inf")
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa and mantissa.lstrip("-").isdigit():
        mantissa += ".0"
    return mantissa + ("e" + exponent if exponent else "")
