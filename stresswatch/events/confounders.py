"""Confounders: dated events that move stress by themselves (sanctions packages, exchange
closures, policy breaks, and every Bank of Russia key-rate decision).

The curated ones come from a TOML file of `[[confounder]]` tables (config/confounders.toml, or the
user's `[events] confounders` file). Key-rate decisions are derived from the `cbr.keyrate` series
with the indicators engineer's `stresswatch.indicators.rates.decision_days` and
`extraordinary_flags` (one definition of "decision" and "extraordinary" in the project).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from stresswatch.errors import ConfigError
from stresswatch.events.catalogue import (ID_RE, MAX_CHARS, Source, check_text, parse_date, parse_source, read_toml,
                                         table_array)

KINDS = ("sanctions", "market", "policy", "exchange", "keyrate")


@dataclass(frozen=True)
class Confounder:
    """A confounding event on [start, end] (one day when start == end)."""

    id: str
    start: dt.date
    end: dt.date
    kind: str
    label: str
    extraordinary: bool = False
    source: Source | None = None
    note: str = ""

    def as_row(self) -> dict[str, Any]:
        return {"id": self.id, "start": self.start, "end": self.end, "kind": self.kind, "label": self.label,
                "extraordinary": self.extraordinary, "source": self.source.url if self.source else None}


def parse_confounders(data: dict[str, Any], where: str) -> list[Confounder]:
    entries = table_array(data, "confounder", where, "a confounder file")
    allowed = {"id", "date", "start", "end", "kind", "label", "extraordinary", "source", "note"}
    out, seen = [], {}
    for n, e in enumerate(entries, start=1):
        if not isinstance(e, dict):
            raise ConfigError(f"{where}: confounder #{n} must be a table")
        what = f"{where}: confounder #{n}" + (f" ({e.get('id')!r})" if e.get("id") else "")
        bad = set(e) - allowed
        if bad:
            raise ConfigError(f"{what}: unknown field(s) {', '.join(sorted(bad))}")
        cid = e.get("id")
        if not isinstance(cid, str) or not ID_RE.match(cid):
            raise ConfigError(f"{what}: missing or malformed id (lowercase letters, digits, hyphens)")
        if cid in seen:
            raise ConfigError(f"{what}: duplicate id {cid!r} (first used by confounder #{seen[cid]})")
        seen[cid] = n
        if "date" in e and ("start" in e or "end" in e):
            raise ConfigError(f"{what}: give either date or start/end, not both")
        if "date" in e:
            start = end = parse_date(e["date"], f"{what}: date")
        elif "start" in e and "end" in e:
            start, end = parse_date(e["start"], f"{what}: start"), parse_date(e["end"], f"{what}: end")
            if end < start:
                raise ConfigError(f"{what}: end {end} is before start {start}")
        else:
            raise ConfigError(f"{what}: missing date (or start and end)")
        kind = e.get("kind")
        if kind not in KINDS:
            raise ConfigError(f"{what}: kind {kind!r} must be one of {', '.join(KINDS)}")
        label = e.get("label")
        if not isinstance(label, str) or not label.strip():
            raise ConfigError(f"{what}: missing label")
        extraordinary = e.get("extraordinary", False)
        if not isinstance(extraordinary, bool):
            raise ConfigError(f"{what}: extraordinary must be true or false")
        note = e.get("note", "")
        if not isinstance(note, str):
            raise ConfigError(f"{what}: note must be a string")
        out.append(Confounder(cid, start, end, kind, check_text(label, "label", what, MAX_CHARS["label"]),
                              extraordinary, parse_source(e.get("source"), what, required=False),
                              check_text(note, "note", what, MAX_CHARS["note"])))
    return sorted(out, key=lambda c: (c.start, c.id))


def load_confounders(path: str | Path | None = None) -> list[Confounder]:
    """The validated confounder file at `path`, or the shipped one."""
    data, where = read_toml(path, "confounders.toml")
    return parse_confounders(data, where)


def keyrate_confounders(keyrate: pd.Series, schedule: Any = None) -> list[Confounder]:
    """One confounder per key-rate change in `keyrate` (% per year, dated by effective day), with
    the extraordinary flag from `stresswatch.indicators.rates.extraordinary_flags`."""
    from stresswatch.indicators import rates

    s = keyrate.dropna().sort_index()
    if len(s) < 2:
        return []
    decisions = rates.decision_days(s)
    if decisions.empty:
        return []
    flags = rates.extraordinary_flags(s, schedule if schedule is not None else rates.load_meetings())
    level = s
    out = []
    for day, delta in decisions.items():
        new = float(level.loc[day])
        old = new - float(delta)
        extra = bool(flags.get(day, 0.0) >= 0.5)
        kind_word = "extraordinary" if extra else "scheduled"
        label = f"Bank of Russia key rate {old:g}% -> {new:g}% ({kind_word} decision, effective {day.date()})"
        cid = f"keyrate-{day.date().isoformat()}" + ("-extraordinary" if extra else "")
        out.append(Confounder(cid, day.date(), day.date(), "keyrate", label, extra))
    return out


def merge(*groups: Iterable[Confounder]) -> list[Confounder]:
    """All confounders, by start date; later duplicates of an id are dropped."""
    seen: dict[str, Confounder] = {}
    for group in groups:
        for c in group:
            seen.setdefault(c.id, c)
    return sorted(seen.values(), key=lambda c: (c.start, c.id))
