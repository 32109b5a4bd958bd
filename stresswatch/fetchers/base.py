"""The fetcher contract: pure request builders and pure parsers; the network lives elsewhere.

A source module (cbr.py, bis.py, ...) defines one `Fetcher` subclass and registers it with
`@register`. The pipeline asks it for the partitions of a date range, for the requests of one
partition, sends them through `fetchers.http`, archives each raw body, and hands the bytes back to
`parse`. A source implements `parse_body`; `parse` (here, for every source) calls it and turns
any exception bad input can cause in a parser -- AttributeError, KeyError, TypeError, IndexError,
ValueError, UnicodeError, ArithmeticError, RecursionError, LookupError, hostile or broken XML --
into `ParseError` naming the source, the URL and what was wrong, so no body can crash the pipeline
or `reparse`. Parsing never does I/O; an empty answer is an empty `ParseResult`, not an error.
Paged APIs return the next request from `parse` (`ParseResult.follow_up`), so paging stays pure
too.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

from stresswatch.errors import ParseError


@dataclass(frozen=True)
class SeriesInfo:
    """Metadata of one stored series. `publication_lag_days`: days after the observation date
    at which a value is treated as published when it is fetched after the fact (vintages)."""

    id: str
    source: str
    name: str
    unit: str
    frequency: str  # "D" business/daily, "W", "M", "Q", "A"
    publication_lag_days: int = 0


@dataclass(frozen=True)
class Observation:
    series_id: str
    date: dt.date
    value: float


@dataclass(frozen=True)
class Request:
    """One HTTP request, fully described, so it can be printed (`--dry-run`) and archived."""

    method: str
    url: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    #: free-form label for logs and the payload archive, e.g. "USD 2013" or "keyrate 2013"
    label: str = ""
    #: data a paged parser needs to build the follow-up request (cursor, offset, window)
    context: tuple[tuple[str, Any], ...] = ()

    def line(self) -> str:
        """The request as one line: method, URL and query string, as they are (see `display`)."""
        from urllib.parse import urlencode

        query = urlencode(self.params)
        return f"{self.method} {self.url}{'?' + query if query else ''}"

    def display(self) -> str:
        """The request as one line (query string included, secrets redacted), for --dry-run and logs."""
        from stresswatch.redaction import redact

        return redact(self.line())

    def context_get(self, key: str, default: Any = None) -> Any:
        return dict(self.context).get(key, default)


@dataclass
class Candidate:
    """A news item that may become a catalogue statement (GDELT); stored apart from observations."""

    url: str
    title: str
    seen_at: dt.datetime  # UTC
    domain: str = ""
    language: str = ""
    source_country: str = ""
    query_id: str = ""


@dataclass
class ParseResult:
    observations: list[Observation] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    #: the next page of a paged API, or None
    follow_up: Request | None = None
    #: things worth telling the user that are not errors (an area with no rows, a gap)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Partition:
    """A window of one source's history fetched and committed as one unit (ledger row)."""

    source: str
    start: dt.date
    end: dt.date  # inclusive

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


class Fetcher(ABC):
    """One remote source. Subclasses set `id`, `parser_version` and `default_base_url`."""

    id: ClassVar[str]
    parser_version: ClassVar[str] = "1"
    default_base_url: ClassVar[str]
    #: partition window: "year", "quarter", "month"; history is fetched window by window
    window: ClassVar[str] = "year"
    #: days re-requested before the last covered date on an incremental fetch (late revisions)
    overlap_days: ClassVar[int] = 7
    #: earliest date the source has data for; backfills are clipped to it
    earliest: ClassVar[dt.date] = dt.date(1990, 1, 1)
    #: HTTP statuses that mean "no data for this query" rather than an error (SDMX 404 NoResultsFound)
    no_data_statuses: ClassVar[tuple[int, ...]] = ()
    #: True for sources whose responses carry event candidates (reparse rebuilds them)
    yields_candidates: ClassVar[bool] = False
    #: business days a continuously published series may fall behind its window before the
    #: answer counts as short (stresswatch.coverage); long enough for the New Year holidays
    coverage_grace_bdays: ClassVar[int] = 10

    def __init__(self, settings: Mapping[str, Any]):
        """`settings` is this source's `[sources.<id>]` table after validation."""
        self.settings = settings
        self.base_url = str(settings.get("base_url") or self.default_base_url).rstrip("/")

    # -- what it provides -------------------------------------------------------------------
    @abstractmethod
    def series(self) -> list[SeriesInfo]:
        """Every series this source writes, given its settings."""

    def continuous_series(self) -> list[SeriesInfo]:
        """The series published without long gaps, whose windows must come back covered
        (stresswatch.coverage); default: every series."""
        return self.series()

    def published_since(self) -> dict[str, dt.date]:
        """Series id -> the date since which the source is known to publish it every period, so an
        empty window after it is a hole even in an empty store; default: none known."""
        return {}

    # -- what to ask for --------------------------------------------------------------------
    def partitions(self, start: dt.date, end: dt.date) -> list[Partition]:
        """The windows covering [start, end], clipped to it, oldest first."""
        return split_windows(self.id, max(start, self.earliest), end, self.window)

    @abstractmethod
    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        """Requests covering observations dated start..end inclusive. Pure."""

    # -- what came back ---------------------------------------------------------------------
    def parse(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        """Bytes of one response to observations. Pure; raises ParseError and nothing else on bad input."""
        try:
            return self.parse_body(body, request, content_type)
        except ParseError:
            raise
        except BAD_INPUT_ERRORS as exc:
            raise self.parse_error(request, f"unexpected content ({describe(exc)})") from None

    @abstractmethod
    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        """The source's parser (called by `parse`). Pure; raises ParseError for what it recognises."""

    def parse_error(self, request: Request, message: str, retryable: bool = True) -> ParseError:
        return ParseError(self.id, request.display(), message, retryable=retryable)


#: what a parser may raise on input it did not expect (defusedxml's errors are ValueErrors;
#: xml.etree's ParseError is a SyntaxError)
BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = (
    AttributeError, KeyError, TypeError, IndexError, ValueError, UnicodeError, ArithmeticError, LookupError,
    RecursionError, SyntaxError)


def describe(exc: BaseException) -> str:
    """`TypeName: message` of an exception, one line, at most 200 characters."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def split_windows(source: str, start: dt.date, end: dt.date, window: str) -> list[Partition]:
    """Calendar windows (year / quarter / month) covering [start, end], clipped to the range."""
    if start > end:
        return []
    out: list[Partition] = []
    cursor = start
    while cursor <= end:
        if window == "year":
            window_end = dt.date(cursor.year, 12, 31)
        elif window == "quarter":
            q_end_month = ((cursor.month - 1) // 3 + 1) * 3
            window_end = _month_end(cursor.year, q_end_month)
        elif window == "month":
            window_end = _month_end(cursor.year, cursor.month)
        else:
            raise ValueError(f"unknown partition window {window!r}: use year, quarter or month")
        out.append(Partition(source, cursor, min(window_end, end)))
        cursor = window_end + dt.timedelta(days=1)
    return out


def window_bounds(day: dt.date, window: str) -> tuple[dt.date, dt.date]:
    """The full calendar window containing `day`."""
    if window == "year":
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if window == "quarter":
        first_month = ((day.month - 1) // 3) * 3 + 1
        return dt.date(day.year, first_month, 1), _month_end(day.year, first_month + 2)
    if window == "month":
        return dt.date(day.year, day.month, 1), _month_end(day.year, day.month)
    raise ValueError(f"unknown partition window {window!r}")


def _month_end(year: int, month: int) -> dt.date:
    if month == 12:
        return dt.date(year, 12, 31)
    return dt.date(year, month + 1, 1) - dt.timedelta(days=1)


def sniff_html(body: bytes) -> bool:
    """True when a body that should be XML/JSON/CSV is an HTML page (anti-bot challenge, error page)."""
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html") or b"<html" in head[:200]


# -- registry ---------------------------------------------------------------------------------
REGISTRY: dict[str, type[Fetcher]] = {}
#: modules of this package that are plumbing, not sources: `load_all` leaves them out, so that
#: reading the settings (which declare every source's section) does not import requests/urllib3
PLUMBING = frozenset({"base", "http", "transfer"})


def register(cls: type[Fetcher]) -> type[Fetcher]:
    """Class decorator: make a Fetcher available by its id. Refuses duplicates."""
    if cls.id in REGISTRY and REGISTRY[cls.id] is not cls:
        raise ValueError(f"fetcher id {cls.id!r} already registered by {REGISTRY[cls.id].__module__}")
    REGISTRY[cls.id] = cls
    return cls


def load_all() -> dict[str, type[Fetcher]]:
    """Import every source module so each registers itself; return the registry."""
    import importlib
    import pkgutil

    import stresswatch.fetchers as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in PLUMBING:
            importlib.import_module(f"stresswatch.fetchers.{info.name}")
    return REGISTRY
