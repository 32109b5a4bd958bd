"""Moscow Exchange index closes from the MOEX ISS history endpoint (JSON).

Owns the `moex` source: `GET /iss/history/engines/stock/markets/index/securities/<SECID>.json
?from=..&till=..&start=N` per configured index. ISS answers in blocks of `columns` + `data`
arrays; `history` holds the rows (CLOSE per TRADEDATE), `history.cursor` one row
`[INDEX, TOTAL, PAGESIZE]` that says whether another page follows (`start = INDEX + PAGESIZE`).
Paging is returned as `ParseResult.follow_up`. An empty `data` array is an empty answer.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, ClassVar, Mapping

from stresswatch.fetchers.base import Fetcher, Observation, ParseResult, Request, SeriesInfo, register, sniff_html
from stresswatch.settings import Setting

DEFAULT_SECURITIES = ["IMOEX"]
INDEX_NAMES = {
    "IMOEX": "MOEX Russia index (rouble)",
    "RTSI": "RTS index (US dollar)",
    "RGBI": "Russian government bond index",
    "MOEXBC": "MOEX blue chip index",
}
_SECID_RE = re.compile(r"^[A-Z0-9_]{2,20}$")


def _securities_check(value: list[str]) -> str | None:
    if not value:
        return "at least one index SECID"
    bad = [s for s in value if not _SECID_RE.match(s)]
    if bad:
        return f"upper-case MOEX index SECIDs such as IMOEX or RTSI (not {', '.join(bad)})"
    return None


def series_id(secid: str) -> str:
    return f"moex.index.{secid}"


class IssFormatError(ValueError):
    """The JSON is not an ISS history answer (message says what is wrong)."""


def iss_block(payload: Mapping[str, Any], name: str) -> list[dict[str, Any]] | None:
    """Rows of one ISS block as dicts (column -> value), or None when the block is absent."""
    block = payload.get(name)
    if block is None:
        return None
    if not isinstance(block, dict) or not isinstance(block.get("data"), list):
        raise IssFormatError(f"block {name!r} has no data array")
    columns = block.get("columns")
    if not isinstance(columns, list):
        raise IssFormatError(f"block {name!r} has no columns array")
    rows = []
    for i, row in enumerate(block["data"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise IssFormatError(f"block {name!r} row {i} does not match its {len(columns)} columns")
        rows.append(dict(zip(columns, row)))
    return rows


def parse_history(payload: Mapping[str, Any], secid: str | None = None) -> tuple[list[tuple[dt.date, float]], list[str]]:
    """(date, CLOSE) pairs of an ISS `history` block, one per TRADEDATE, with warnings.

    Rows of another SECID are skipped; a null CLOSE is no observation; two boards giving different
    closes for one day keep the first and warn.
    """
    rows = iss_block(payload, "history")
    if rows is None:
        raise IssFormatError("no 'history' block")
    warnings: list[str] = []
    by_date: dict[dt.date, float] = {}
    for i, row in enumerate(rows):
        if "TRADEDATE" not in row or "CLOSE" not in row:
            raise IssFormatError("history block lacks TRADEDATE/CLOSE columns")
        if secid and row.get("SECID") not in (None, secid):
            continue
        try:
            date = dt.date.fromisoformat(str(row["TRADEDATE"]))
        except ValueError:
            raise IssFormatError(f"row {i}: TRADEDATE {row['TRADEDATE']!r} is not a date") from None
        close = row["CLOSE"]
        if close is None or close == "":
            continue
        try:
            value = float(close)
        except (TypeError, ValueError):
            raise IssFormatError(f"row {i}: CLOSE {close!r} is not a number") from None
        if math.isnan(value) or math.isinf(value):
            continue
        if date in by_date:
            if by_date[date] != value:
                warnings.append(f"moex: {secid or ''} {date}: two closes {by_date[date]} and {value}; kept the first "
                                f"(board {row.get('BOARDID', '?')})")
            continue
        by_date[date] = value
    return sorted(by_date.items()), warnings


def parse_cursor(payload: Mapping[str, Any]) -> tuple[int, int, int] | None:
    """(INDEX, TOTAL, PAGESIZE) of the `history.cursor` block, or None when it is absent."""
    rows = iss_block(payload, "history.cursor")
    if not rows:
        return None
    row = rows[0]
    try:
        return int(row["INDEX"]), int(row["TOTAL"]), int(row["PAGESIZE"])
    except (KeyError, TypeError, ValueError):
        raise IssFormatError(f"history.cursor row is not INDEX/TOTAL/PAGESIZE integers: {row}") from None


@register
class MoexFetcher(Fetcher):
    """Moscow Exchange index closes (ISS history JSON)."""

    id: ClassVar[str] = "moex"
    parser_version: ClassVar[str] = "1"
    default_base_url: ClassVar[str] = "https://iss.moex.com"
    window: ClassVar[str] = "year"
    earliest: ClassVar[dt.date] = dt.date(1997, 9, 22)
    extra_settings: ClassVar[tuple[Setting, ...]] = (
        Setting("securities", "list[str]", list(DEFAULT_SECURITIES),
                "MOEX index SECIDs on the stock/index market; series moex.index.<SECID>", check=_securities_check),
    )
    default_overrides: ClassVar[dict[str, Any]] = {"min_interval": 0.5}

    @property
    def securities(self) -> list[str]:
        return list(self.settings.get("securities") or DEFAULT_SECURITIES)

    def series(self) -> list[SeriesInfo]:
        return [SeriesInfo(series_id(s), self.id, INDEX_NAMES.get(s, f"MOEX index {s}"), "index points", "D", 0)
                for s in self.securities]

    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        return [self._request(secid, start, end, 0) for secid in self.securities]

    def _request(self, secid: str, start: dt.date, end: dt.date, offset: int) -> Request:
        return Request(
            method="GET",
            url=f"{self.base_url}/iss/history/engines/stock/markets/index/securities/{secid}.json",
            params=(("from", start.isoformat()), ("till", end.isoformat()), ("start", str(offset))),
            label=f"{secid} {start.isoformat()}..{end.isoformat()}" + (f" start {offset}" if offset else ""),
            context=(("secid", secid), ("start", start.isoformat()), ("end", end.isoformat()), ("offset", offset)),
        )

    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        if sniff_html(body):
            raise self.parse_error(request, "an HTML page instead of ISS JSON (error or challenge page)")
        if not body.strip():
            return ParseResult()
        try:
            payload = json.loads(body.decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise self.parse_error(request, f"not UTF-8 text: {exc}") from None
        except ValueError as exc:
            raise self.parse_error(request, f"invalid JSON (truncated body?): {exc}") from None
        if not isinstance(payload, dict):
            raise self.parse_error(request, "ISS JSON is not an object of blocks")
        secid = request.context_get("secid")
        try:
            values, warnings = parse_history(payload, secid)
            cursor = parse_cursor(payload)
        except IssFormatError as exc:
            raise self.parse_error(request, str(exc)) from None
        result = ParseResult(observations=[Observation(series_id(secid), d, v) for d, v in values],
                             warnings=warnings)
        if cursor is not None:
            result.follow_up = self._next_page(request, cursor, [d for d, _ in values], result)
        return result

    def _next_page(self, request: Request, cursor: tuple[int, int, int], dates: list[dt.date],
                   result: ParseResult) -> Request | None:
        """The follow-up page the cursor asks for, or None. ISS pages run forward in date order, so
        a page that brings no date after the previous page's last one while the cursor announces
        more is a short answer, refused (a cursor that echoes its start on a server ignoring
        `start` would otherwise page for ever; the pipeline's `[http] max_pages` bounds the rest)."""
        index, total, pagesize = cursor
        offset = int(request.context_get("offset", 0))
        next_start = index + pagesize
        if pagesize <= 0 or next_start >= total or next_start <= offset:
            return None
        after = request.context_get("after")
        if not dates or (after and max(dates).isoformat() <= after):
            raise self.parse_error(request, f"page at start {offset} brings no new trading day although the cursor "
                                            f"announces {total} rows (a short answer; paging stopped)",
                                   retryable=False)
        start = dt.date.fromisoformat(request.context_get("start"))
        end = dt.date.fromisoformat(request.context_get("end"))
        follow = self._request(str(request.context_get("secid")), start, end, next_start)
        return Request(follow.method, follow.url, follow.params, follow.headers, follow.body, follow.label,
                       follow.context + (("after", max(dates).isoformat()),))
