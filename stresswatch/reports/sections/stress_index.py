"""The stress-index section: the composite index (`stress.index`) as known on D, its recursive
percentile, its 1/5/20-observation changes, and the latest segment values and contributions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.values import iso, years_before

#: the composite index series
STRESS_INDEX = "stress.index"


def recursive_percentile(series: pd.Series) -> float | None:
    """Share of observations up to the last one that are <= the last one (no look-ahead)."""
    values = series.dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return None
    return float((values <= values[-1]).mean())


def stress_index(reader: SeriesReader, day: dt.date) -> dict[str, Any]:
    """Latest composite index as known on D, its recursive percentile, changes and segments."""
    s = reader.read(STRESS_INDEX, day)
    if s.empty:
        return {"available": False, "series": STRESS_INDEX,
                "message": f"no value of {STRESS_INDEX} is known on {day}; run `stresswatch compute --asof {day}`"}
    out: dict[str, Any] = {
        "available": True, "series": STRESS_INDEX, "date": iso(s.index[-1]), "value": float(s.iloc[-1]),
        "percentile": recursive_percentile(s), "history_start": iso(s.index[0]), "observations": int(len(s)),
    }
    for k in (1, 5, 20):
        out[f"change_{k}"] = float(s.iloc[-1] - s.iloc[-1 - k]) if len(s) > k else None
    out["segments"] = latest_rows(reader, day, "stress.segment.")
    out["contributions"] = latest_rows(reader, day, "stress.contrib.")
    return out


def latest_rows(reader: SeriesReader, day: dt.date, prefix: str) -> list[dict[str, Any]]:
    """The latest value (within a year of D) of every series whose id starts with `prefix`."""
    rows = []
    for sid in reader.ids(prefix):
        s = reader.read(sid, day, start=years_before(day, 1))
        if s.empty:
            continue
        rows.append({"name": sid[len(prefix):], "series": sid, "date": iso(s.index[-1]), "value": float(s.iloc[-1])})
    return rows
