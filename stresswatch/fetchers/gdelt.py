"""GDELT DOC 2.0 API: news articles as event candidates, and the daily average tone per query.

Owns the requests (`/api/v2/doc/doc`, `mode=ArtList` and `mode=TimelineTone` for each configured
query and window) and their parsers. Articles are not observations: they come back as
`ParseResult.candidates` (url, title, UTC seen time, domain, language, source country, query id)
and are stored by `store.candidates.save` (stresswatch/store/candidates.py), deduplicated by URL.
The tone timeline becomes the daily series `gdelt.tone.<query id>` (finer resolutions are averaged per UTC day).

Quirks handled (SOURCES.md section 6a): no `articles` key = no articles; HTTP 200 with
`text/html` (or any non-JSON text) = GDELT rejected the query, raised as ParseError carrying
GDELT's own sentence; invalid JSON escapes and raw control characters are repaired before decoding.

Windows with more than 250 articles: GDELT returns at most 250 records per call. With
`sort=DateDesc` the 250 it returns are the newest of the window, so everything seen after the
oldest returned `seendate` is complete and only [window start, oldest seendate] is still unknown.
`parse` therefore splits the window in two at that instant and returns the older part as
`follow_up` (same query, `enddatetime` = oldest seendate). The pipeline keeps following until a
page has fewer than 250 records. The boundary instant is asked again (GDELT time-stamps in 15-minute
steps, several articles share one), duplicates fall away by URL; if a single instant alone holds
250+ articles, the split steps one second past it and says so in a warning, so paging always ends.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from typing import Any

from stresswatch.fetchers.base import (Candidate, Fetcher, Observation, ParseResult, Request, SeriesInfo,
                                       register)
from stresswatch.settings import REQUIRED, Setting

MAX_RECORDS = 250
TS_FORMAT = "%Y%m%d%H%M%S"

#: default queries: Russia–China alliance / partnership statements by leaders, defence and foreign
#: ministers. GDELT syntax: space = AND, OR only inside parentheses, "exact phrases", words of at
#: least three letters (hence "Xi Jinping", not "Xi").
DEFAULT_QUERIES: list[dict[str, str]] = [
    {"id": "alliance",
     "query": '(Russia OR Russian OR Moscow) (China OR Chinese OR Beijing) '
              '(alliance OR "strategic partnership" OR "no limits" OR "more than an alliance")'},
    {"id": "leaders",
     "query": 'Putin "Xi Jinping" (alliance OR partnership OR "strategic cooperation" OR "no limits")'},
    {"id": "ministers",
     "query": '(Lavrov OR "Wang Yi" OR Shoigu OR Belousov OR "Dong Jun" OR "Li Shangfu" OR "Wei Fenghe") '
              'Russia China (alliance OR partnership OR "military cooperation" OR "joint exercises")'},
]

_QUERY_ID = re.compile(r"^[A-Za-z0-9_\-]+$")


def _check_queries(value: list[dict]) -> str | None:
    seen = set()
    for item in value:
        qid = item.get("id", "")
        if not _QUERY_ID.match(qid):
            return f"query ids of letters, digits, _ and - (got {qid!r})"
        if qid in seen:
            return f"unique query ids ({qid!r} twice)"
        if not str(item.get("query", "")).strip():
            return f"a non-empty query for id {qid!r}"
        seen.add(qid)
    return None


# ---------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})|\\')


def repair_json_text(text: str) -> str:
    """Make GDELT's occasionally broken JSON decodable: drop raw control characters other than
    tab/CR/LF, and drop every backslash that does not start a valid JSON escape (`\\'` -> `'`,
    `\\x41` -> `x41`, a lone `\\u` -> `u`). Valid escapes (`\\n`, `\\"`, `\\u00e9`, `\\\\`) stay."""
    text = _CONTROL.sub("", text)
    return _ESCAPE.sub(lambda m: m.group(0) if m.group(1) else "", text)


def loads_lenient(text: str) -> Any:
    """json.loads; on failure retried once on repaired text, where `strict=False` also accepts raw
    tabs/newlines inside strings."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(repair_json_text(text), strict=False)


def parse_seendate(value: str) -> dt.datetime:
    """`20230918T031500Z` (UTC) -> aware datetime."""
    return dt.datetime.strptime(value.strip(), "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)


def tidy_title(title: str) -> str:
    """GDELT titles put spaces before punctuation ("Systems , Inc ."): close them up."""
    title = " ".join(str(title).split())
    return re.sub(r"\s+([,.;:!?%)])", r"\1", re.sub(r"([(])\s+", r"\1", title))


def html_message(body: bytes) -> str:
    """The readable sentence of a GDELT text/html error answer."""
    text = body.decode("utf-8", errors="replace")
    text = re.sub(r"(?is)<(script|style)[^>]*>.*?</\1>", " ", text)
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(text.split())[:500]


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime(TS_FORMAT)


def _from_stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, TS_FORMAT).replace(tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------
@register
class GdeltFetcher(Fetcher):
    """GDELT DOC 2.0: Russia–China statement candidates and daily news tone."""

    id = "gdelt"
    parser_version = "1"
    default_base_url = "https://api.gdeltproject.org"
    window = "month"
    earliest = dt.date(2017, 1, 1)  # the DOC API searches back to 1 Jan 2017
    overlap_days = 2

    extra_settings = (
        Setting("queries", "list[table]", DEFAULT_QUERIES,
                "GDELT queries ([[sources.gdelt.queries]] id, query); empty = built-in", check=_check_queries,
                fields=(Setting("id", "str", REQUIRED, "query id (letters, digits, _ -); series gdelt.tone.<id>"),
                        Setting("query", "str", REQUIRED, "GDELT DOC query text"))),
        Setting("tone", "bool", True, "also fetch mode=TimelineTone as the daily series gdelt.tone.<id>"),
        Setting("articles", "bool", True, "fetch mode=ArtList as event candidates"),
    )
    default_overrides = {"min_interval": 5.0, "history_days": 90}
    yields_candidates = True

    @property
    def queries(self) -> list[dict[str, str]]:
        configured = self.settings.get("queries")
        return [dict(q) for q in (configured or DEFAULT_QUERIES)]

    def series(self) -> list[SeriesInfo]:
        if not self.settings.get("tone", True):
            return []
        return [SeriesInfo(f"gdelt.tone.{q['id']}", self.id, f"GDELT average tone: {q['id']}", "tone", "D", 1)
                for q in self.queries]

    def continuous_series(self) -> list[SeriesInfo]:
        """None: a query may find no article, hence no tone, for days on end."""
        return []

    # -- requests ---------------------------------------------------------------------------
    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        if start > end:
            return []
        start = max(start, self.earliest)
        begin = dt.datetime.combine(start, dt.time(0, 0, 0), dt.timezone.utc)
        finish = dt.datetime.combine(end, dt.time(23, 59, 59), dt.timezone.utc)
        out = []
        for q in self.queries:
            if self.settings.get("articles", True):
                out.append(self.artlist_request(q["id"], q["query"], begin, finish, page=1))
            if self.settings.get("tone", True):
                out.append(self._request(q["id"], q["query"], "TimelineTone", begin, finish,
                                         label=f"gdelt tone {q['id']} {start}..{end}"))
        return out

    def artlist_request(self, query_id: str, query: str, begin: dt.datetime, finish: dt.datetime,
                        page: int) -> Request:
        return self._request(query_id, query, "ArtList", begin, finish,
                             label=f"gdelt articles {query_id} {begin:%Y-%m-%d %H:%M}..{finish:%Y-%m-%d %H:%M}"
                                   + (f" page {page}" if page > 1 else ""),
                             extra=(("page", page),))

    def _request(self, query_id: str, query: str, mode: str, begin: dt.datetime, finish: dt.datetime,
                 label: str, extra: tuple = ()) -> Request:
        params = [("query", query), ("mode", mode), ("format", "json")]
        if mode == "ArtList":
            params.append(("maxrecords", str(MAX_RECORDS)))
        params += [("startdatetime", _stamp(begin)), ("enddatetime", _stamp(finish))]
        if mode == "ArtList":
            params.append(("sort", "DateDesc"))
        return Request("GET", f"{self.base_url}/api/v2/doc/doc", params=tuple(params),
                       headers=(("Accept", "application/json"),), label=label,
                       context=(("query_id", query_id), ("query", query), ("mode", mode),
                                ("start", _stamp(begin)), ("end", _stamp(finish))) + extra)

    # -- parsing ----------------------------------------------------------------------------
    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        mode = request.context_get("mode") or dict(request.params).get("mode", "ArtList")
        payload = self._load(body, request, content_type)
        if mode == "TimelineTone":
            return self._parse_tone(payload, request)
        return self._parse_articles(payload, request)

    def _load(self, body: bytes, request: Request, content_type: str) -> Any:
        text = body.decode("utf-8-sig", errors="replace").strip() if body else ""
        if "html" in content_type.lower() or (text and text[0] not in "{["):
            message = html_message(body) or "(no text)"
            raise self.parse_error(request, f"GDELT rejected the query: {message}", retryable=False)
        if not text:
            return {}
        try:
            payload = loads_lenient(text)
        except json.JSONDecodeError as exc:
            raise self.parse_error(request, f"invalid or truncated JSON even after repair "
                                            f"({exc.msg} at char {exc.pos})") from None
        if not isinstance(payload, dict):
            raise self.parse_error(request, f"expected a JSON object, got {type(payload).__name__}")
        return payload

    def _parse_articles(self, payload: dict, request: Request) -> ParseResult:
        query_id = str(request.context_get("query_id", ""))
        result = ParseResult()
        articles = payload.get("articles")
        if articles is None:  # GDELT's "nothing found"
            return result
        if not isinstance(articles, list):
            raise self.parse_error(request, "`articles` is not a list")
        oldest: dt.datetime | None = None
        for i, art in enumerate(articles):
            if not isinstance(art, dict) or not str(art.get("url") or "").strip():
                result.warnings.append(f"gdelt: article {i} has no url; skipped")
                continue
            try:
                seen = parse_seendate(str(art.get("seendate", "")))
            except ValueError:
                result.warnings.append(f"gdelt: article {art.get('url')} has a bad seendate "
                                       f"{art.get('seendate')!r}; skipped")
                continue
            oldest = seen if oldest is None else min(oldest, seen)
            result.candidates.append(Candidate(
                url=str(art["url"]).strip(), title=tidy_title(art.get("title") or ""), seen_at=seen,
                domain=str(art.get("domain") or ""), language=str(art.get("language") or ""),
                source_country=str(art.get("sourcecountry") or ""), query_id=query_id))
        if len(articles) >= MAX_RECORDS and oldest is not None:
            result.follow_up = self._older_half(request, oldest, result)
        return result

    def _older_half(self, request: Request, oldest: dt.datetime, result: ParseResult) -> Request | None:
        """The not-yet-covered part of a saturated window: [window start, oldest seen time]."""
        begin = _from_stamp(request.context_get("start"))
        finish = _from_stamp(request.context_get("end"))
        new_finish = oldest
        if new_finish >= finish:  # one instant holds 250+ articles: step past it
            new_finish = finish - dt.timedelta(seconds=1)
            result.warnings.append(f"gdelt: 250+ articles at {finish:%Y-%m-%d %H:%M:%S}Z for query "
                                   f"{request.context_get('query_id')}; some may be missing")
        if new_finish < begin:
            return None
        return self.artlist_request(str(request.context_get("query_id")), str(request.context_get("query")),
                                    begin, new_finish, page=int(request.context_get("page", 1)) + 1)

    def _parse_tone(self, payload: dict, request: Request) -> ParseResult:
        series_id = f"gdelt.tone.{request.context_get('query_id', '')}"
        result = ParseResult()
        timeline = payload.get("timeline") or []
        if not isinstance(timeline, list):
            raise self.parse_error(request, "`timeline` is not a list")
        begin = _from_stamp(request.context_get("start")).date() if request.context_get("start") else None
        finish = _from_stamp(request.context_get("end")).date() if request.context_get("end") else None
        per_day: dict[dt.date, list[float]] = defaultdict(list)
        for line in timeline:
            if not isinstance(line, dict):
                continue
            name = str(line.get("series", ""))
            if name and "tone" not in name.lower():
                continue
            for point in line.get("data") or []:
                try:
                    stamp = str(point["date"])
                    day = (parse_seendate(stamp) if "T" in stamp else
                           dt.datetime.strptime(stamp[:8], "%Y%m%d")).date()
                    value = point.get("value")
                    if value is None:
                        continue
                    value = float(value)
                except (KeyError, TypeError, ValueError) as exc:
                    raise self.parse_error(request, f"bad timeline point {point!r}: {exc}") from None
                if (begin and day < begin) or (finish and day > finish):
                    continue
                per_day[day].append(value)
        for day in sorted(per_day):
            values = per_day[day]
            result.observations.append(Observation(series_id, day, sum(values) / len(values)))
        return result
