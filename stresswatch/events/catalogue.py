"""The statement catalogue: loading, validation and the shipped files.

A catalogue is a TOML file of `[[statement]]` tables (see config/statements.toml for the fields).
`load_catalogue` reads one (the shipped file when no path is given) and validates every entry;
anything wrong - a duplicate id, a bad date, time or time zone, a missing source, an over-long key
phrase, an unknown field - raises ConfigError naming the file and the entry. Every text field is one
line of plain text (no CR, LF, TAB or other control character, no bidirectional override:
`stresswatch.textcheck`) within its length limit (`MAX_CHARS`): what the report and the alert mail
print is exactly what the file says, and a runaway value (a 200,000-character speaker) is refused
when the catalogue is loaded.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from stresswatch.errors import ConfigError
from stresswatch.settings import shipped_text
from stresswatch.textcheck import text_problem

MOSCOW = "Europe/Moscow"
MAX_PHRASE_WORDS = 12
MAX_SUMMARY_CHARS = 200
#: the longest value of each text field (characters)
MAX_CHARS = {"speaker": 120, "role": 160, "country": 60, "venue": 200, "key_phrase": 160,
             "summary": MAX_SUMMARY_CHARS, "outlet": 120, "url": 2000,
             "label": 200, "note": 1000}  # label, note: the confounder file (confounders.py)
# \Z, not $: `$` also matches before a final line break, so "id\n" would pass
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}\Z")
TAG_RE = re.compile(r"^[a-z][a-z0-9-]{1,29}\Z")
URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*\Z")

REQUIRED = ("id", "date", "speaker", "role", "country", "venue", "key_phrase", "summary", "tags", "source")
OPTIONAL = ("time", "tz", "also")


@dataclass(frozen=True)
class Source:
    outlet: str
    url: str


@dataclass(frozen=True)
class Statement:
    """One dated statement. `date`/`time` are local to `tz`; `time` is None when not known."""

    id: str
    date: dt.date
    speaker: str
    role: str
    country: str
    venue: str
    key_phrase: str
    summary: str
    tags: tuple[str, ...]
    source: Source
    time: dt.time | None = None
    tz: str = MOSCOW
    also: tuple[str, ...] = field(default=())

    def moment(self) -> dt.datetime | None:
        """The statement's instant (aware) when its time is known."""
        if self.time is None:
            return None
        return dt.datetime.combine(self.date, self.time, tzinfo=ZoneInfo(self.tz))

    def as_row(self) -> dict[str, Any]:
        return {"id": self.id, "date": self.date, "time": self.time.strftime("%H:%M") if self.time else None,
                "tz": self.tz, "speaker": self.speaker, "role": self.role, "country": self.country,
                "venue": self.venue, "key_phrase": self.key_phrase, "summary": self.summary,
                "tags": ",".join(self.tags), "source": self.source.outlet, "url": self.source.url}


# ---------------------------------------------------------------------------------------------
# Shipped files
# ---------------------------------------------------------------------------------------------
def read_toml(path: str | Path | None, shipped: str) -> tuple[dict[str, Any], str]:
    """(parsed TOML, name for messages) of `path`, or of the shipped file when path is empty."""
    if not path:
        text, where = shipped_text(shipped), f"shipped {shipped}"
    else:
        p = Path(path).expanduser()
        try:
            text = p.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read {p}: {exc.strerror or exc}") from None
        where = str(p)
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Validation helpers (shared with confounders.py)
# ---------------------------------------------------------------------------------------------
def parse_date(value: Any, what: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ConfigError(f"{what}: expected a date YYYY-MM-DD, got a date-time {value.isoformat()}")
    if isinstance(value, dt.date):
        out = value
    elif isinstance(value, str):
        try:
            out = dt.date.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(f"{what}: {value!r} is not a date YYYY-MM-DD") from None
    else:
        raise ConfigError(f"{what}: expected a date YYYY-MM-DD, got {value!r}")
    if not dt.date(1990, 1, 1) <= out <= dt.date(2100, 12, 31):
        raise ConfigError(f"{what}: {out.isoformat()} is outside 1990-2100")
    return out


def parse_time(value: Any, what: str) -> dt.time:
    if isinstance(value, dt.time):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        h, m = (int(x) for x in value.strip().split(":"))
        if h < 24 and m < 60:
            return dt.time(h, m)
    raise ConfigError(f"{what}: {value!r} is not a time HH:MM")


def parse_source(value: Any, what: str, required: bool = True) -> Source | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise ConfigError(f"{what}: source must be a table {{ outlet = \"...\", url = \"https://...\" }}")
    unknown = set(value) - {"outlet", "url"}
    if unknown:
        raise ConfigError(f"{what}: unknown key(s) in source: {', '.join(sorted(unknown))}")
    outlet, url = value.get("outlet"), value.get("url")
    if not isinstance(outlet, str) or not outlet.strip():
        raise ConfigError(f"{what}: missing source.outlet")
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{what}: missing source.url")
    check_text(outlet, "source.outlet", what, MAX_CHARS["outlet"])
    check_text(url, "source.url", what, MAX_CHARS["url"])
    if not URL_RE.match(url.strip()):
        raise ConfigError(f"{what}: source.url {url[:80]!r} is not an http(s) URL")
    return Source(outlet.strip(), url.strip())


def check_text(value: str, key: str, what: str, max_length: int) -> str:
    """`value` stripped, or ConfigError naming `what` and `key` when it is not one line of plain
    text of at most `max_length` characters."""
    problem = text_problem(value.strip(), max_length)
    if problem:
        raise ConfigError(f"{what}: {key} {problem}")
    return value.strip()


def _text(entry: dict, key: str, what: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{what}: missing {key}")
    return check_text(value, key, what, MAX_CHARS.get(key, MAX_SUMMARY_CHARS))


def validate_statement(entry: Any, what: str) -> Statement:
    """One `[[statement]]` table -> Statement, or ConfigError naming `what`."""
    if not isinstance(entry, dict):
        raise ConfigError(f"{what}: each statement must be a table")
    unknown = set(entry) - set(REQUIRED) - set(OPTIONAL)
    if unknown:
        raise ConfigError(f"{what}: unknown field(s) {', '.join(sorted(unknown))}; allowed: "
                          f"{', '.join(REQUIRED + OPTIONAL)}")
    for key in REQUIRED:
        if key not in entry:
            raise ConfigError(f"{what}: missing {key}")
    sid = entry["id"]
    if not isinstance(sid, str) or not ID_RE.match(sid):
        shown = repr(sid) if len(repr(sid)) <= 90 else repr(sid)[:80] + "..."
        raise ConfigError(f"{what}: id {shown} must be 3-80 characters of lowercase letters, digits and hyphens")
    date = parse_date(entry["date"], f"{what}: date")
    time = parse_time(entry["time"], f"{what}: time") if "time" in entry else None
    tz = entry.get("tz", MOSCOW)
    try:
        ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{what}: tz {tz!r} is not an IANA time zone (e.g. Europe/Moscow)") from None
    phrase = _text(entry, "key_phrase", what)
    words = len(phrase.split())
    if words > MAX_PHRASE_WORDS:
        raise ConfigError(f"{what}: key_phrase has {words} words; keep quotes to at most {MAX_PHRASE_WORDS}")
    summary = _text(entry, "summary", what)
    tags = entry["tags"]
    if not isinstance(tags, list) or not tags or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{what}: tags must be a non-empty list of strings")
    bad = [t for t in tags if not TAG_RE.match(t)]
    if bad:
        raise ConfigError(f"{what}: tag(s) {', '.join(repr(t[:40]) for t in bad)} must be lowercase slugs")
    also = entry.get("also", [])
    if not isinstance(also, list) or not all(isinstance(u, str) and len(u) <= MAX_CHARS["url"] and URL_RE.match(u)
                                             for u in also):
        raise ConfigError(f"{what}: also must be a list of http(s) URLs (at most {MAX_CHARS['url']} characters each)")
    return Statement(id=sid, date=date, speaker=_text(entry, "speaker", what), role=_text(entry, "role", what),
                     country=_text(entry, "country", what), venue=_text(entry, "venue", what), key_phrase=phrase,
                     summary=summary, tags=tuple(dict.fromkeys(tags)), source=parse_source(entry["source"], what),
                     time=time, tz=str(tz), also=tuple(also))


def table_array(data: dict[str, Any], key: str, where: str, what: str) -> list[Any]:
    """The `[[key]]` tables of a parsed TOML file that may hold nothing else."""
    unknown = set(data) - {key}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                          f"{what} is a list of [[{key}]] tables")
    entries = data.get(key, [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: '{key}' must be an array of tables ([[{key}]])")
    return entries


def parse_catalogue(data: dict[str, Any], where: str) -> list[Statement]:
    """Validate a parsed catalogue; statements sorted by date then id."""
    entries = table_array(data, "statement", where, "a catalogue")
    out: list[Statement] = []
    seen: dict[str, int] = {}
    for n, entry in enumerate(entries, start=1):
        label = entry.get("id") if isinstance(entry, dict) else None
        what = f"{where}: statement #{n}" + (f" ({label!r})" if label else "")
        s = validate_statement(entry, what)
        if s.id in seen:
            raise ConfigError(f"{what}: duplicate id {s.id!r} (first used by statement #{seen[s.id]})")
        seen[s.id] = n
        out.append(s)
    return sorted(out, key=lambda s: (s.date, s.id))


def load_catalogue(path: str | Path | None = None) -> list[Statement]:
    """The validated catalogue at `path`, or the shipped one when path is None/empty."""
    data, where = read_toml(path, "statements.toml")
    return parse_catalogue(data, where)


def filter_tag(statements: Iterable[Statement], tag: str | None) -> list[Statement]:
    if not tag:
        return list(statements)
    tag = tag.lower()
    return [s for s in statements if tag in s.tags]


def all_tags(statements: Iterable[Statement]) -> list[str]:
    return sorted({t for s in statements for t in s.tags})
