"""Data output for the CLI: one place that prints rows as a table, CSV or JSON.

A table is for people: numbers are rounded (`human_number`: at most 4 decimals, 4 significant
digits below 1), text cells can be shortened to fit a width (`emit(..., max_width=, shrink=)`) and
nested blocks are shown as tables or lines (`emit_block`), never as raw JSON. CSV and JSON keep
every value at full precision.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from typing import Any, Iterable, Mapping, Sequence, TextIO

FORMATS = ("table", "csv", "json")


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        try:
            return _plain(value.item())
        except (ValueError, AttributeError):
            pass
    return value


def to_json(obj: Any) -> str:
    def default(o: Any) -> Any:
        plain = _plain(o)
        if plain is o:
            return str(o)
        return plain

    return json.dumps(obj, default=default, ensure_ascii=False, indent=2, allow_nan=False)


def clean(obj: Any) -> Any:
    """Recursively turn dates, numpy scalars and NaN into JSON-safe values."""
    if isinstance(obj, Mapping):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    return _plain(obj)


def human_number(value: float) -> str:
    """A float as a person reads it: whole numbers without decimals, at most 4 decimals from 1 up,
    4 significant digits below 1 (1.0000000000000002 -> "1", 0.4986814771 -> "0.4987",
    101.03994 -> "101.0399", 0.000123456 -> "0.0001235")."""
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1:
        text = f"{value:.4f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.4g}"
    return "0" if text in ("-0", "0") else text


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return human_number(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(1, width - 1)] + "…"


def _fit(widths: list[int], columns: Sequence[str], max_width: int, shrink: Sequence[str]) -> list[int]:
    """Column widths with the `shrink` columns narrowed (widest first, down to their header or 8
    characters) until the table fits `max_width` characters, where it can."""
    widths = list(widths)
    flexible = [i for i, c in enumerate(columns) if c in shrink]
    floor = {i: max(8, len(columns[i])) for i in flexible}
    while sum(widths) + 2 * (len(widths) - 1) > max_width:
        candidates = [i for i in flexible if widths[i] > floor[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def emit(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str, out: TextIO, *,
         max_width: int | None = None, shrink: Sequence[str] = ()) -> None:
    """Print `rows` (dicts) with `columns` in `fmt` (table, csv or json). A table can be held to
    `max_width` characters by shortening the cells of the `shrink` columns (with "…")."""
    rows = list(rows)
    if fmt == "json":
        out.write(to_json([clean({c: r.get(c) for c in columns}) for r in rows]) + "\n")
        return
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if _plain(r.get(c)) is None else _plain(r.get(c)) for c in columns])
        return
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    cells = [[_cell(r.get(c)) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    if max_width is not None:
        widths = _fit(widths, columns, max_width, shrink)
        cells = [[_shorten(v, w) for v, w in zip(row, widths)] for row in cells]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")


def emit_block(name: str, value: Any, out: TextIO) -> None:
    """Print one named block of a status-like report for people: a block with a "summary" list
    prints those lines; a mapping of mappings prints one table row per entry; a mapping prints an
    item/value table; a list of mappings prints a table; anything else one line."""
    out.write(f"\n{name}\n")
    if isinstance(value, Mapping) and isinstance(value.get("summary"), list):
        for line in value["summary"]:
            out.write(f"  {line}\n")
        return
    if isinstance(value, Mapping) and value and all(isinstance(v, Mapping) for v in value.values()):
        columns = list(dict.fromkeys(k for v in value.values() for k in v))
        emit([{"name": k, **v} for k, v in value.items()], ["name", *columns], "table", out)
        return
    if isinstance(value, Mapping):
        emit([{"item": k, "value": v} for k, v in value.items()], ["item", "value"], "table", out)
        return
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        emit(value, list(dict.fromkeys(k for v in value for k in v)), "table", out)
        return
    out.write(f"  {_cell(value)}\n")
