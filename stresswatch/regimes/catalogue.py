"""The dated episode catalogue the regime scorecard checks (config/episodes.toml, shipped; or the
file `[regimes] episodes` names): stress episodes and calm stretches of the ruble, each with its
dates, kind, the thresholds it is held to, whether issue 11 requires it, and its source.

`load_episodes(path)` reads and validates the file like the other shipped TOML (statements,
confounders): every problem is a `ConfigError` naming the file, the episode and the field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stresswatch.errors import ConfigError
from stresswatch.events.catalogue import parse_date, read_toml
from stresswatch.settings import MAX_TEXT
from stresswatch.textcheck import id_problem, text_problem

SHIPPED = "episodes.toml"
KINDS = ("stress", "calm")
#: issue 11's criteria: a stress episode flagged on >= 60% of its business days, the first flag at
#: most 3 business days after its start; a calm stretch flagged on <= 5%
DEFAULT_MIN_SHARE, DEFAULT_MAX_LAG, DEFAULT_MAX_SHARE = 0.60, 3, 0.05
_KEYS = {"id", "name", "kind", "start", "end", "required", "min_share", "max_lag", "max_share", "source"}
_SOURCE_KEYS = {"outlet", "url", "note"}


@dataclass(frozen=True)
class EpisodeSource:
    outlet: str
    note: str = ""
    url: str = ""

    def text(self) -> str:
        return "; ".join(x for x in (self.outlet, self.note, self.url) if x)


@dataclass(frozen=True)
class CatalogueEpisode:
    """One dated episode (business days start..end, both included)."""

    id: str
    name: str
    kind: str
    start: dt.date
    end: dt.date
    required: bool
    source: EpisodeSource
    min_share: float = DEFAULT_MIN_SHARE
    max_lag: int = DEFAULT_MAX_LAG
    max_share: float = DEFAULT_MAX_SHARE

    @property
    def criterion(self) -> str:
        if self.kind == "stress":
            return f">= {self.min_share:.0%} flagged, first flag <= {self.max_lag} business days after the start"
        if self.max_share == 0:
            return "no day flagged"
        return f"<= {self.max_share:.0%} flagged"


def _text(value: Any, what: str, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what}: expected a non-empty string, got {value!r}")
    problem = text_problem(value, MAX_TEXT)
    if problem:
        raise ConfigError(f"{what}: {problem}")
    return value.strip()


def _number(value: Any, what: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= float(value) <= high:
        raise ConfigError(f"{what}: expected a number between {low} and {high}, got {value!r}")
    return float(value)


def _episode(raw: Any, position: int, where: str) -> CatalogueEpisode:
    what = f"{where}: episode {position}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{what}: expected a table [[episode]]")
    ident = raw.get("id")
    if not isinstance(ident, str) or id_problem(ident):
        raise ConfigError(f"{what}: id {ident!r}: {id_problem(ident) if isinstance(ident, str) else 'missing'}")
    what = f"{where}: episode {ident}"
    unknown = set(raw) - _KEYS
    if unknown:
        raise ConfigError(f"{what}: unknown key(s): {', '.join(sorted(unknown))}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{what}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    start, end = parse_date(raw.get("start"), f"{what}: start"), parse_date(raw.get("end"), f"{what}: end")
    if end < start:
        raise ConfigError(f"{what}: end {end} is before start {start}")
    required = raw.get("required", False)
    if not isinstance(required, bool):
        raise ConfigError(f"{what}: required must be true or false")
    source = raw.get("source")
    if not isinstance(source, dict):
        raise ConfigError(f"{what}: source must be a table {{ outlet = \"...\", note = \"...\" }}")
    if set(source) - _SOURCE_KEYS:
        raise ConfigError(f"{what}: unknown key(s) in source: {', '.join(sorted(set(source) - _SOURCE_KEYS))}")
    url = _text(source.get("url"), f"{what}: source.url", required=False)
    if url and not url.startswith(("https://", "http://")):
        raise ConfigError(f"{what}: source.url must start with https:// or http://")
    if kind == "calm" and ({"min_share", "max_lag"} & set(raw)):
        raise ConfigError(f"{what}: min_share and max_lag are for stress episodes")
    if kind == "stress" and "max_share" in raw:
        raise ConfigError(f"{what}: max_share is for calm stretches")
    max_lag = raw.get("max_lag", DEFAULT_MAX_LAG)
    if isinstance(max_lag, bool) or not isinstance(max_lag, int) or not 0 <= max_lag <= 60:
        raise ConfigError(f"{what}: max_lag must be an integer 0..60, got {max_lag!r}")
    return CatalogueEpisode(
        id=ident, name=_text(raw.get("name"), f"{what}: name"), kind=kind, start=start, end=end, required=required,
        source=EpisodeSource(outlet=_text(source.get("outlet"), f"{what}: source.outlet"),
                             note=_text(source.get("note"), f"{what}: source.note", required=False), url=url),
        min_share=_number(raw.get("min_share", DEFAULT_MIN_SHARE), f"{what}: min_share", 0.0, 1.0),
        max_lag=int(max_lag), max_share=_number(raw.get("max_share", DEFAULT_MAX_SHARE), f"{what}: max_share", 0.0, 1.0))


def load_episodes(path: str | Path | None = None) -> list[CatalogueEpisode]:
    """The validated episodes of `path` (empty: the shipped config/episodes.toml), in file order."""
    data, where = read_toml(path, SHIPPED)
    unknown = set(data) - {"episode"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s): {', '.join(sorted(unknown))}")
    raw = data.get("episode")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: no [[episode]] tables")
    episodes = [_episode(item, i + 1, where) for i, item in enumerate(raw)]
    seen: set[str] = set()
    for e in episodes:
        if e.id in seen:
            raise ConfigError(f"{where}: episode id {e.id!r} appears twice")
        seen.add(e.id)
    return episodes
