"""UN Comtrade public preview API: China's monthly goods trade with Russia, as reported by China.

Owns the request (`/public/v1/preview/C/M/HS`, up to 12 months per call, no key) and the parser of
Comtrade's JSON (`{"count", "data": [...], "error"}`); pure, like every fetcher.

Quirks handled (SOURCES.md section 5b): `count: 0` with `data: []` is an empty answer (Comtrade says
that for bad parameters too, so an empty year is reported as a warning, not silently); values are
JSON floats in USD in `primaryValue` (FOB for exports, CIF for imports); annual rows carry
`refMonth` 52; the API-management layer (APIM) answers throttling with
`{"statusCode": 429, "message": "Rate limit is exceeded. Try again in N seconds."}` — the HTTP layer
retries 429 itself; if such a body still reaches `parse` it is a ParseError naming the message.

Publication lag: China's customs releases monthly partner totals within weeks, Comtrade carries
them one to two months later; 60 days after the first of the month is used as "known by".
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from stresswatch.fetchers.base import Fetcher, Observation, ParseResult, Request, SeriesInfo, register
from stresswatch.settings import Setting

PUBLICATION_LAG_DAYS = 60
MAX_PERIODS = 12
FLOW_NAMES = {"X": "exports", "M": "imports", "RX": "re-exports", "RM": "re-imports"}


@dataclass(frozen=True)
class TradeRow:
    """One Comtrade data row, reduced to what a series needs."""

    reporter: int
    partner: int
    flow: str
    freq: str
    period: dt.date  # first day of the month (monthly) or of the year (annual)
    value: float | None
    cmd: str = "TOTAL"
    partner2: int = 0
    mot: int = 0
    customs: str = "C00"


class ComtradeFormatError(ValueError):
    pass


def decode_rows(payload: Any) -> list[TradeRow]:
    """Rows of a Comtrade `get`/`preview` JSON answer (dict already loaded). Pure."""
    if not isinstance(payload, dict) or "data" not in payload:
        raise ComtradeFormatError("no `data` list: not a Comtrade data answer")
    rows = payload.get("data") or []
    if not isinstance(rows, list):
        raise ComtradeFormatError("`data` is not a list")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            kind = "a list" if isinstance(row, list) else type(row).__name__
            raise ComtradeFormatError(f"row {i} is {kind}, not an object with reporterCode, partnerCode, ...")
        try:
            freq = str(row.get("freqCode", "M"))
            out.append(TradeRow(
                reporter=int(row["reporterCode"]),
                partner=int(row["partnerCode"]),
                flow=str(row["flowCode"]),
                freq=freq,
                period=row_period(row),
                value=None if row.get("primaryValue") is None else float(row["primaryValue"]),
                cmd=str(row.get("cmdCode", "TOTAL")),
                partner2=int(row.get("partner2Code") or 0),
                mot=int(row.get("motCode") or 0),
                customs=str(row.get("customsCode") or "C00"),
            ))
        except (KeyError, TypeError, ValueError) as exc:
            raise ComtradeFormatError(f"row {i}: {type(exc).__name__}: {exc}") from None
    return out


def row_period(row: dict) -> dt.date:
    """First day of a row's period: monthly `period` "202401", annual "2010" (refMonth 52)."""
    period = str(row.get("period") or "")
    if len(period) == 6 and period.isdigit():
        month = int(period[4:])
        if not 1 <= month <= 12:
            raise ValueError(f"month out of range in period {period!r}")
        return dt.date(int(period[:4]), month, 1)
    if len(period) == 4 and period.isdigit():
        return dt.date(int(period), 1, 1)
    year, month = row.get("refYear"), row.get("refMonth")
    if year and month and 1 <= int(month) <= 12:
        return dt.date(int(year), int(month), 1)
    raise ValueError(f"unrecognised period {period!r}")


def month_list(start: dt.date, end: dt.date) -> list[str]:
    """YYYYMM of every month touching [start, end]."""
    out = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


@register
class ComtradeFetcher(Fetcher):
    """UN Comtrade: China's monthly goods trade with Russia (public preview API)."""

    id = "comtrade"
    parser_version = "1"
    default_base_url = "https://comtradeapi.un.org"
    window = "year"
    earliest = dt.date(2000, 1, 1)
    overlap_days = 120

    extra_settings = (
        Setting("reporter_code", "int", 156, "reporter, UN M49 code (156 China)", minimum=0),
        Setting("partner_code", "int", 643, "partner, UN M49 code (643 Russia)", minimum=0),
        Setting("pair", "str", "CHN_RUS", "label of the reporter/partner pair in series ids"),
        Setting("flows", "list[str]", ["X", "M"], "flow codes (X exports, M imports)",
                choices=("X", "M", "RX", "RM")),
        Setting("publication_lag_days", "int", PUBLICATION_LAG_DAYS,
                "days after the first of the month at which a month counts as published", minimum=0),
    )
    # the public preview is throttled per IP; one call a second is well inside it
    default_overrides = {"min_interval": 1.0}

    @property
    def flows(self) -> list[str]:
        return [str(f) for f in (self.settings.get("flows") or ["X", "M"])]

    def series_id(self, flow: str) -> str:
        return f"comtrade.{self.settings.get('pair') or 'CHN_RUS'}.{flow}"

    def series(self) -> list[SeriesInfo]:
        lag = int(self.settings.get("publication_lag_days", PUBLICATION_LAG_DAYS))
        pair = self.settings.get("pair") or "CHN_RUS"
        return [SeriesInfo(self.series_id(flow), self.id,
                           f"UN Comtrade {pair.replace('_', '->')} {FLOW_NAMES.get(flow, flow)}", "USD", "M", lag)
                for flow in self.flows]

    def continuous_series(self) -> list[SeriesInfo]:
        """None: Comtrade answers `count: 0` for months not (yet) reported, and China reports January
        and February combined, so an empty answer stays "no data" (docs/data.md)."""
        return []

    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        months = month_list(start, end) if start <= end else []
        reporter = int(self.settings.get("reporter_code", 156))
        partner = int(self.settings.get("partner_code", 643))
        requests = []
        for i in range(0, len(months), MAX_PERIODS):
            chunk = months[i:i + MAX_PERIODS]
            requests.append(Request(
                "GET", f"{self.base_url}/public/v1/preview/C/M/HS",
                params=(("reporterCode", str(reporter)), ("partnerCode", str(partner)),
                        ("period", ",".join(chunk)), ("flowCode", ",".join(self.flows)),
                        ("cmdCode", "TOTAL"), ("customsCode", "C00"), ("motCode", "0"),
                        ("partner2Code", "0")),
                headers=(("Accept", "application/json"),),
                label=f"comtrade {reporter}-{partner} {chunk[0]}..{chunk[-1]}",
                context=(("periods", tuple(chunk)),),
            ))
        return requests

    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        text = body.decode("utf-8-sig", errors="replace").strip() if body else ""
        if not text:
            raise self.parse_error(request, "empty body (Comtrade always answers JSON, even when empty)")
        if text[0] != "{":
            snippet = " ".join(text[:300].replace("<", " <").split())
            raise self.parse_error(request, f"expected JSON, got {content_type or 'text'}: {snippet[:200]}")
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.parse_error(request, f"invalid or truncated JSON ({exc.msg} at char {exc.pos})") from None
        if isinstance(payload, dict) and "statusCode" in payload and "data" not in payload:
            raise self.parse_error(request, f"Comtrade API management answered {payload.get('statusCode')}: "
                                            f"{payload.get('message', '')}")
        if isinstance(payload, dict) and payload.get("error"):
            raise self.parse_error(request, f"Comtrade error: {payload['error']}")
        try:
            rows = decode_rows(payload)
        except ComtradeFormatError as exc:
            raise self.parse_error(request, str(exc)) from None
        count = payload.get("count")
        if isinstance(count, int) and not isinstance(count, bool) and count > len(rows):
            raise self.parse_error(request, f"`count` announces {count} rows but `data` holds {len(rows)} "
                                            "(a short answer)")
        result = ParseResult()
        if not rows:
            result.warnings.append(f"comtrade: no rows for {request.label or request.display()} (count 0)")
            return result
        reporter = int(self.settings.get("reporter_code", 156))
        partner = int(self.settings.get("partner_code", 643))
        wanted = {flow: self.series_id(flow) for flow in self.flows}
        seen: dict[tuple[str, dt.date], float] = {}
        for row in rows:
            if (row.freq != "M" or row.reporter != reporter or row.partner != partner or row.cmd != "TOTAL"
                    or row.partner2 != 0 or row.mot != 0 or row.customs != "C00" or row.flow not in wanted):
                continue
            if row.value is None:
                continue
            key = (row.flow, row.period)
            if key in seen:
                if seen[key] != row.value:
                    result.warnings.append(f"comtrade: two values for {row.flow} {row.period:%Y-%m} "
                                           f"({seen[key]} and {row.value}); kept the first")
                continue
            seen[key] = row.value
            result.observations.append(Observation(wanted[row.flow], row.period, row.value))
        result.observations.sort(key=lambda o: (o.series_id, o.date))
        return result
