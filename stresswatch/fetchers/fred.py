"""FRED (St. Louis Fed) series: keyless fredgraph.csv downloads, or the JSON API when a key is set.

Owns the `fred` source. Without a key: `GET /graph/fredgraph.csv?id=ID&cosd=..&coed=..`, in
either CSV layout (before Dec 2024 `DATE` header and `.` for missing; since then
`observation_date` and an empty field) — the first column is the date whatever its name. With
`STRESSWATCH_FRED_API_KEY` in the environment: `GET /fred/series/observations` as JSON (values are
strings, `.` is missing), paged by `offset` through `ParseResult.follow_up`. Missing values are
not stored: a holiday row gives no observation. The API key travels only in `Request.params`
under `api_key`, which the HTTP layer and the payload archive redact; messages written here use
`redact()`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
from typing import Any, ClassVar, Mapping
from urllib.parse import urlencode

from stresswatch.errors import ParseError
from stresswatch.fetchers.base import Fetcher, Observation, ParseResult, Request, SeriesInfo, register, sniff_html
from stresswatch.redaction import register_secret
from stresswatch.settings import Setting

API_KEY_ENV = "STRESSWATCH_FRED_API_KEY"
SECRET_PARAMS = frozenset({"api_key"})
DEFAULT_SERIES = ["DCOILBRENTEU", "DFF"]

#: metadata for well-known ids: (name, unit, frequency, publication lag in days)
KNOWN_SERIES: dict[str, tuple[str, str, str, int]] = {
    "DCOILBRENTEU": ("Brent crude oil spot price, Europe (EIA via FRED)", "USD per barrel", "D", 7),
    "DFF": ("Effective federal funds rate (daily)", "percent", "D", 1),
    "FEDFUNDS": ("Effective federal funds rate (monthly average)", "percent", "M", 1),
    "DGS10": ("10-year Treasury constant maturity yield", "percent", "D", 1),
    "DGS3MO": ("3-month Treasury constant maturity yield", "percent", "D", 1),
    "STLFSI4": ("St. Louis Fed Financial Stress Index", "index", "W", 7),
    "VIXCLS": ("CBOE volatility index VIX", "index", "D", 1),
    "DTWEXBGS": ("Nominal broad U.S. dollar index", "index", "D", 7),
    "BAMLH0A0HYM2": ("ICE BofA US high yield option-adjusted spread", "percent", "D", 1),
    "T10Y2Y": ("10-year minus 2-year Treasury yield spread", "percent", "D", 1),
}

_MISSING = {"", ".", "na", "nan", "#n/a"}
_ID_RE = re.compile(r"^[A-Za-z0-9_]{1,40}$")


def _series_check(value: list[str]) -> str | None:
    if not value:
        return "at least one FRED series id"
    bad = [s for s in value if not _ID_RE.match(s)]
    if bad:
        return f"FRED series ids (letters, digits, underscore; not {', '.join(bad)})"
    return None


def series_id(fred_id: str) -> str:
    return f"fred.{fred_id}"


def redact(text: str, secret: str | None = None) -> str:
    """`text` with `api_key=...` query values (and the key itself, when given) masked."""
    text = re.sub(r"(api_key=)[^&\s'\"]+", r"\1REDACTED", text)
    if secret:
        text = text.replace(secret, "REDACTED")
    return text


def redacted_display(request: Request) -> str:
    """`Request.display()` with secret query parameters masked."""
    params = tuple((k, "REDACTED" if k in SECRET_PARAMS else v) for k, v in request.params)
    query = urlencode(params)
    return f"{request.method} {request.url}{'?' + query if query else ''}"


def parse_value(raw: str) -> float | None:
    """A FRED value: `.`, empty, NA -> None (not stored); anything else must be a number."""
    text = raw.strip()
    if text.lower() in _MISSING:
        return None
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        return None
    return value


class FredFormatError(ValueError):
    """The body is not a fredgraph CSV / observations JSON (message says what is wrong)."""


def parse_fredgraph_csv(text: str) -> dict[str, list[tuple[dt.date, float]]]:
    """Columns of a fredgraph.csv text as {FRED id: [(date, value), ...]}, missing values dropped.

    The first column is the date whatever it is called (`DATE` before Dec 2024,
    `observation_date` since). Raises `FredFormatError` on a short row (truncated body), an
    unterminated quote, a bad date or a non-numeric value; an empty text gives {}.
    """
    if not text.strip():
        return {}
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise FredFormatError(f"unreadable CSV header: {exc}") from None
    if len(header) < 2 or not all(_ID_RE.match(h) for h in header):
        raise FredFormatError(f"header is not 'date column, series ids': {','.join(header)[:200]}")
    columns: dict[str, list[tuple[dt.date, float]]] = {h: [] for h in header[1:]}
    line = 1
    try:
        for record in reader:
            line += 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) != len(header):
                raise FredFormatError(f"line {line} has {len(record)} fields, header has {len(header)} "
                                      "(truncated body?)")
            try:
                date = dt.date.fromisoformat(record[0].strip())
            except ValueError:
                raise FredFormatError(f"line {line}: {record[0]!r} is not a date YYYY-MM-DD") from None
            for name, raw in zip(header[1:], record[1:]):
                try:
                    value = parse_value(raw)
                except ValueError:
                    raise FredFormatError(f"line {line}: {name} value {raw!r} is not a number") from None
                if value is not None:
                    columns[name].append((date, value))
    except csv.Error as exc:
        raise FredFormatError(f"line {line}: {exc} (truncated body?)") from None
    return columns


def parse_observations_json(payload: Mapping[str, Any]) -> tuple[list[tuple[dt.date, float]], int, int, int]:
    """(values, count, offset, limit) of a /fred/series/observations JSON page; `.` dropped."""
    if "error_code" in payload or "error_message" in payload:
        raise FredFormatError(f"FRED error {payload.get('error_code', '')}: {payload.get('error_message', '')}".strip())
    observations = payload.get("observations")
    if not isinstance(observations, list):
        raise FredFormatError("no 'observations' list in the JSON body")
    values: list[tuple[dt.date, float]] = []
    for i, item in enumerate(observations):
        if not isinstance(item, dict) or "date" not in item or "value" not in item:
            raise FredFormatError(f"observation {i} lacks date/value: {str(item)[:100]}")
        try:
            date = dt.date.fromisoformat(str(item["date"]))
        except ValueError:
            raise FredFormatError(f"observation {i}: {item['date']!r} is not a date") from None
        try:
            value = parse_value(str(item["value"]))
        except ValueError:
            raise FredFormatError(f"observation {i}: value {item['value']!r} is not a number") from None
        if value is not None:
            values.append((date, value))
    try:
        count = int(payload.get("count", len(observations)))
        offset = int(payload.get("offset", 0))
        limit = int(payload.get("limit", len(observations) or 1))
    except (TypeError, ValueError):
        raise FredFormatError("count/offset/limit are not integers") from None
    return values, count, offset, limit


@register
class FredFetcher(Fetcher):
    """FRED series (keyless fredgraph.csv; JSON API when STRESSWATCH_FRED_API_KEY is set)."""

    id: ClassVar[str] = "fred"
    parser_version: ClassVar[str] = "1"
    default_base_url: ClassVar[str] = "https://fred.stlouisfed.org"
    window: ClassVar[str] = "year"
    earliest: ClassVar[dt.date] = dt.date(1954, 7, 1)
    extra_settings: ClassVar[tuple[Setting, ...]] = (
        Setting("series", "list[str]", list(DEFAULT_SERIES), "FRED series ids; stored as fred.<ID>",
                check=_series_check),
        Setting("api_base_url", "str", "https://api.stlouisfed.org",
                "base URL of the FRED JSON API (used only when STRESSWATCH_FRED_API_KEY is set)"),
        Setting("api_page_limit", "int", 100000, "observations per JSON API page (FRED allows up to 100000)",
                minimum=1, maximum=100000),
    )
    default_overrides: ClassVar[dict[str, Any]] = {"min_interval": 1.0}

    def __init__(self, settings: Mapping[str, Any], environ: Mapping[str, str] | None = None):
        super().__init__(settings)
        env = os.environ if environ is None else environ
        self._api_key = (env.get(API_KEY_ENV) or "").strip() or None
        register_secret(self._api_key)  # masked by value wherever text leaves the program
        self.api_base_url = str(settings.get("api_base_url") or "https://api.stlouisfed.org").rstrip("/")

    def __repr__(self) -> str:  # never show the key
        return f"FredFetcher(base_url={self.base_url!r}, api={'on' if self._api_key else 'off'})"

    @property
    def uses_api(self) -> bool:
        return self._api_key is not None

    @property
    def fred_ids(self) -> list[str]:
        return list(self.settings.get("series") or DEFAULT_SERIES)

    def series(self) -> list[SeriesInfo]:
        out = []
        for fid in self.fred_ids:
            name, unit, freq, lag = KNOWN_SERIES.get(fid, (f"FRED series {fid}", "", "D", 1))
            out.append(SeriesInfo(series_id(fid), self.id, name, unit, freq, lag))
        return out

    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        if self.uses_api:
            return [self._api_request(fid, start, end, 0) for fid in self.fred_ids]
        return [
            Request(
                method="GET",
                url=f"{self.base_url}/graph/fredgraph.csv",
                params=(("id", fid), ("cosd", start.isoformat()), ("coed", end.isoformat())),
                label=f"{fid} {start.isoformat()}..{end.isoformat()}",
                context=(("series", fid), ("mode", "csv")),
            )
            for fid in self.fred_ids
        ]

    def _api_request(self, fid: str, start: dt.date, end: dt.date, offset: int) -> Request:
        limit = int(self.settings.get("api_page_limit") or 100000)
        return Request(
            method="GET",
            url=f"{self.api_base_url}/fred/series/observations",
            params=(("series_id", fid), ("api_key", self._api_key or ""), ("file_type", "json"),
                    ("observation_start", start.isoformat()), ("observation_end", end.isoformat()),
                    ("limit", str(limit)), ("offset", str(offset))),
            label=f"{fid} {start.isoformat()}..{end.isoformat()}" + (f" offset {offset}" if offset else ""),
            context=(("series", fid), ("mode", "api"), ("start", start.isoformat()), ("end", end.isoformat()),
                     ("offset", offset)),
        )

    def parse_error(self, request: Request, message: str) -> ParseError:
        return ParseError(self.id, redacted_display(request), redact(message, self._api_key))

    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        if sniff_html(body):
            raise self.parse_error(request, "an HTML page instead of FRED data (error or challenge page)")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self.parse_error(request, f"not UTF-8 text: {exc}") from None
        if request.context_get("mode") == "api":
            return self._parse_api(text, request)
        return self._parse_csv(text, request)

    def _parse_csv(self, text: str, request: Request) -> ParseResult:
        if text.lstrip()[:1] in ("{", "<"):
            raise self.parse_error(request, f"not a fredgraph CSV: {' '.join(text.split())[:200]}")
        try:
            columns = parse_fredgraph_csv(text)
        except FredFormatError as exc:
            raise self.parse_error(request, str(exc)) from None
        result = ParseResult()
        if not columns:
            return result
        wanted = request.context_get("series")
        if wanted and wanted not in columns:
            raise self.parse_error(request, f"asked for {wanted}, got columns {', '.join(columns)}")
        for fid, values in columns.items():
            if wanted and fid != wanted:
                result.warnings.append(f"fred: ignored column {fid} (asked for {wanted})")
                continue
            result.observations.extend(Observation(series_id(fid), d, v) for d, v in values)
        return result

    def _parse_api(self, text: str, request: Request) -> ParseResult:
        if not text.strip():
            return ParseResult()
        try:
            payload = json.loads(text)
        except ValueError as exc:
            raise self.parse_error(request, f"invalid JSON (truncated body?): {exc}") from None
        if not isinstance(payload, dict):
            raise self.parse_error(request, "JSON body is not an object")
        try:
            values, count, offset, limit = parse_observations_json(payload)
        except FredFormatError as exc:
            raise self.parse_error(request, str(exc)) from None
        fid = request.context_get("series")
        result = ParseResult(observations=[Observation(series_id(fid), d, v) for d, v in values])
        page_len = len(payload.get("observations") or [])
        next_offset = offset + page_len
        if page_len and next_offset < count:
            start = dt.date.fromisoformat(request.context_get("start"))
            end = dt.date.fromisoformat(request.context_get("end"))
            result.follow_up = self._api_request(fid, start, end, next_offset)
        return result
