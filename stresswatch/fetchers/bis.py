"""BIS central bank policy rates (dataflow WS_CBPOL, daily): requests and SDMX-CSV parsing.

Owns the `bis` source: one SDMX REST v1 request per partition for all configured areas
(`D.RU+US+...`), CSV chosen with the Accept header (clients disagree on `?format=csv`), and two
pure parsers: the API's SDMX-CSV (`DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE[,attributes]`) and
the bulk download's "csv_flat" layout (`CODE:Label` headers, `code: label` cells), told apart by
the header. Empty and `NaN` values are gaps, not zeros. An area that comes back with no rows at
all is reported as a warning: the BIS re-versions flows in place and then answers "no data"
instead of an error.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable

from stresswatch.fetchers.base import Fetcher, Observation, ParseResult, Request, SeriesInfo, register, sniff_html
from stresswatch.settings import Setting

FLOW = "WS_CBPOL"
ACCEPT_CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
DEFAULT_AREAS = ["RU", "US", "XM", "CN", "JP", "GB", "TR", "BR", "IN", "ZA", "MX", "KR", "ID", "SA"]

#: names for the series metadata; any other ISO-2 area gets its code as name
AREA_NAMES = {
    "RU": "Russia", "US": "United States", "XM": "Euro area", "CN": "China", "JP": "Japan",
    "GB": "United Kingdom", "TR": "Turkey", "BR": "Brazil", "IN": "India", "ZA": "South Africa",
    "MX": "Mexico", "KR": "Korea", "ID": "Indonesia", "SA": "Saudi Arabia", "AR": "Argentina",
    "AU": "Australia", "CA": "Canada", "CH": "Switzerland", "CL": "Chile", "CO": "Colombia",
    "CZ": "Czech Republic", "DK": "Denmark", "HK": "Hong Kong SAR", "HU": "Hungary", "IL": "Israel",
    "MY": "Malaysia", "NO": "Norway", "NZ": "New Zealand", "PE": "Peru", "PH": "Philippines",
    "PL": "Poland", "RO": "Romania", "RS": "Serbia", "SE": "Sweden", "TH": "Thailand",
}

_MISSING = {"", "nan", "na", "n/a", "null"}


def _areas_check(value: list[str]) -> str | None:
    if not value:
        return "at least one area code"
    bad = [a for a in value if not (len(a) == 2 and a.isalnum() and a.upper() == a)]
    if bad:
        return f"upper-case two-character BIS area codes such as RU or XM (not {', '.join(bad)})"
    if len(set(value)) != len(value):
        return "each area once"
    return None


@dataclass(frozen=True)
class BisRow:
    """One observation row of either CSV layout; `value` is None for a gap (empty or NaN)."""

    freq: str
    area: str
    period: str
    date: dt.date
    value: float | None


class LayoutError(ValueError):
    """The text is not in the CSV layout the parser expected (message says what is wrong)."""


# -- pure parsers ---------------------------------------------------------------------------------
def detect_layout(header: list[str]) -> str:
    """"flat" for the bulk csv_flat file (`CODE:Label` headers), "sdmx" for the API's SDMX-CSV."""
    codes = [h.split(":", 1)[0].strip() for h in header]
    if "TIME_PERIOD" not in codes or "OBS_VALUE" not in codes or "REF_AREA" not in codes:
        raise LayoutError(f"header has no REF_AREA/TIME_PERIOD/OBS_VALUE columns: {','.join(header[:8])[:200]}")
    if any(":" in h and not h.startswith("BIS:") for h in header) or (header and header[0].strip() == "STRUCTURE"):
        return "flat"
    return "sdmx"


def period_date(period: str) -> dt.date:
    """`YYYY-MM-DD` (daily) or `YYYY-MM` (monthly, dated the 1st) or `YYYY` (annual, 1 January)."""
    text = period.strip()
    try:
        if len(text) == 10 and text[4] == "-":
            return dt.date.fromisoformat(text)
        if len(text) == 7 and text[4] == "-":
            return dt.date(int(text[:4]), int(text[5:7]), 1)
        if len(text) == 4 and text.isdigit():
            return dt.date(int(text), 1, 1)
    except ValueError:
        pass
    raise ValueError(f"TIME_PERIOD {period!r} is not YYYY-MM-DD, YYYY-MM or YYYY")


def parse_value(raw: str) -> float | None:
    text = raw.strip()
    if text.lower() in _MISSING:
        return None
    value = float(text)
    if math.isnan(value) or math.isinf(value):
        return None
    return value


def _code(cell: str) -> str:
    """`RU: Russia` -> `RU`; a plain `RU` stays."""
    return cell.split(":", 1)[0].strip()


def parse_rows(text: str) -> tuple[str, list[BisRow]]:
    """Rows of an SDMX-CSV or csv_flat text (auto-detected), with the detected layout.

    Raises `LayoutError` on anything that is not one of the two layouts: a missing column, a row
    with fewer fields than the header (a truncated body), an unterminated quote, a bad date or a
    non-numeric value. An empty text or a header alone gives no rows.
    """
    if not text.strip():
        return "sdmx", []
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise LayoutError(f"unreadable CSV header: {exc}") from None
    layout = detect_layout(header)
    codes = [h.split(":", 1)[0].strip() for h in header]
    i_area, i_time, i_value = codes.index("REF_AREA"), codes.index("TIME_PERIOD"), codes.index("OBS_VALUE")
    i_freq = codes.index("FREQ") if "FREQ" in codes else None
    # attributes after OBS_VALUE may be left off at the end of a row; the key columns may not
    needed = max(i_area, i_time, i_value, i_freq or 0) + 1
    rows: list[BisRow] = []
    line = 1
    try:
        for record in reader:
            line += 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if len(record) < needed or (layout == "sdmx" and len(record) < len(header)):
                raise LayoutError(f"line {line} has {len(record)} fields, header has {len(header)} (truncated body?)")
            period = record[i_time].strip()
            try:
                date = period_date(period)
            except ValueError as exc:
                raise LayoutError(f"line {line}: {exc}") from None
            try:
                value = parse_value(record[i_value])
            except ValueError:
                raise LayoutError(f"line {line}: OBS_VALUE {record[i_value]!r} is not a number") from None
            freq = _code(record[i_freq]) if i_freq is not None else ("D" if len(period) == 10 else "M")
            rows.append(BisRow(freq, _code(record[i_area]), period, date, value))
    except csv.Error as exc:
        raise LayoutError(f"line {line}: {exc} (truncated body?)") from None
    return layout, rows


def parse_csv_flat(text: str) -> list[BisRow]:
    """Rows of the bulk csv_flat layout; raises `LayoutError` if the text is plain SDMX-CSV."""
    layout, rows = parse_rows(text)
    if rows and layout != "flat":
        raise LayoutError("not the csv_flat layout (no CODE:Label headers)")
    return rows


def parse_sdmx_csv(text: str) -> list[BisRow]:
    """Rows of the API's SDMX-CSV layout; raises `LayoutError` if the text is csv_flat."""
    layout, rows = parse_rows(text)
    if rows and layout != "sdmx":
        raise LayoutError("not SDMX-CSV (CODE:Label headers: this is the bulk csv_flat layout)")
    return rows


def _error_text(text: str) -> str | None:
    """A short description when the body is a JSON or XML error message instead of CSV."""
    head = text.lstrip()[:1]
    if head in "{[" and head:
        try:
            payload = json.loads(text)
        except ValueError:
            return "a JSON body instead of SDMX-CSV"
        message = _find_message(payload)
        return f"a JSON error instead of SDMX-CSV: {message}" if message else "a JSON body instead of SDMX-CSV"
    if head == "<":
        snippet = " ".join(text.split())[:200]
        return f"an XML/markup body instead of SDMX-CSV: {snippet}"
    return None


def _find_message(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("message", "error_message", "detail", "title", "text"):
            if isinstance(payload.get(key), str):
                return payload[key]
        for value in payload.values():
            found = _find_message(value)
            if found:
                return found
    if isinstance(payload, list):
        for value in payload:
            found = _find_message(value)
            if found:
                return found
    return ""


# -- the fetcher ----------------------------------------------------------------------------------
@register
class BisFetcher(Fetcher):
    """BIS central bank policy rates (WS_CBPOL daily, SDMX-CSV)."""

    id: ClassVar[str] = "bis"
    parser_version: ClassVar[str] = "1"
    default_base_url: ClassVar[str] = "https://stats.bis.org"
    window: ClassVar[str] = "year"
    earliest: ClassVar[dt.date] = dt.date(1946, 1, 1)
    #: the BIS updates the flow a few days after a decision; a value counts as known 2 days later
    publication_lag_days: ClassVar[int] = 2
    extra_settings: ClassVar[tuple[Setting, ...]] = (
        Setting("areas", "list[str]", list(DEFAULT_AREAS),
                "BIS reference areas (ISO-2; XM = euro area); series bis.cbpol.<AREA>", check=_areas_check),
    )
    default_overrides: ClassVar[dict[str, Any]] = {"min_interval": 1.0}
    #: SDMX REST 1.x answers a query without matching data with 404 "NoResultsFound" (2.x prefers
    #: 204); the pipeline should treat these statuses as an empty answer for this source
    no_data_statuses: ClassVar[tuple[int, ...]] = (404,)
    #: the BIS loads WS_CBPOL in batches, sometimes weeks after the fact
    coverage_grace_bdays: ClassVar[int] = 25

    @property
    def areas(self) -> list[str]:
        return list(self.settings.get("areas") or DEFAULT_AREAS)

    def series(self) -> list[SeriesInfo]:
        return [
            SeriesInfo(series_id(area), self.id, f"Central bank policy rate, {AREA_NAMES.get(area, area)} (BIS)",
                       "percent", "D", self.publication_lag_days)
            for area in self.areas
        ]

    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        areas = self.areas
        return [Request(
            method="GET",
            url=f"{self.base_url}/api/v1/data/{FLOW}/D.{'+'.join(areas)}/all",
            params=(("startPeriod", start.isoformat()), ("endPeriod", end.isoformat()), ("detail", "dataonly")),
            headers=(("Accept", ACCEPT_CSV),),
            label=f"{FLOW} D {start.isoformat()}..{end.isoformat()}",
            context=(("areas", tuple(areas)),),
        )]

    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        if sniff_html(body):
            raise self.parse_error(request, "an HTML page instead of SDMX-CSV (error or challenge page)")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise self.parse_error(request, f"not UTF-8 text: {exc}") from None
        problem = _error_text(text)
        if problem:
            raise self.parse_error(request, problem)
        try:
            _layout, rows = parse_rows(text)
        except LayoutError as exc:
            raise self.parse_error(request, str(exc)) from None
        wanted = tuple(request.context_get("areas") or ())
        return observations_from_rows(rows, wanted, request.context_get("freq", "D"))


def series_id(area: str) -> str:
    return f"bis.cbpol.{area}"


def observations_from_rows(rows: Iterable[BisRow], wanted: tuple[str, ...] = (), freq: str = "D") -> ParseResult:
    """Observations of frequency `freq` for the `wanted` areas (all areas when empty), with a
    warning for each wanted area without a single row and for rows of areas nobody asked for."""
    result = ParseResult()
    seen: set[str] = set()
    others: dict[str, int] = {}
    for row in rows:
        if row.freq != freq:
            continue
        if wanted and row.area not in wanted:
            others[row.area] = others.get(row.area, 0) + 1
            continue
        seen.add(row.area)
        if row.value is not None:
            result.observations.append(Observation(series_id(row.area), row.date, row.value))
    missing = [a for a in wanted if a not in seen]
    if missing:
        result.warnings.append(
            f"bis: no rows at all for area(s) {', '.join(missing)} in {FLOW} ({freq}); "
            "check the area code and whether the BIS re-versioned the dataflow")
    if others:
        listed = ", ".join(f"{a} ({n})" for a, n in sorted(others.items()))
        result.warnings.append(f"bis: ignored rows for areas that were not asked for: {listed}")
    return result
