"""Data output for the CLI: one place that prints rows as a table, CSV or JSON."""

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


def _cell(value: Any) -> str:
    value = _plain(value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}" if abs(value) < 1e10 else f"{value:.0f}"
    return str(value)


def emit(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], fmt: str, out: TextIO) -> None:
    """Print `rows` (dicts) with `columns` in `fmt` (table, csv or json)."""
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
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() + "\n")
