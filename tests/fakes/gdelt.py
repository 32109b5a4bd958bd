"""A GDELT DOC 2.0 API replay for pytest-httpserver.

`GdeltFake(articles, tone).install(httpserver)` answers `GET /api/v2/doc/doc?query=..&mode=..&
format=json&startdatetime=..&enddatetime=..` the way api.gdeltproject.org does:
- `mode=ArtList`: `{"articles": [...]}` with the articles of that query seen inside the window,
  newest first (`sort=DateDesc`), at most `maxrecords`; no hits -> `{}` (no `articles` key);
- `mode=TimelineTone`: `{"query_details": ..., "timeline": [{"series": "Average Tone", "data":
  [{"date": "YYYYMMDDTHHMMSSZ", "value": ..}]}]}`, points inside the window;
- a query in `rejected` -> HTTP 200, `text/html`, GDELT's plain sentence;
- `broken_json=True` -> the body carries invalid escapes (`\\'`) and a raw control character, as
  GDELT's sometimes does.
`articles` maps query text -> list of dicts with url, title, seen (aware UTC datetime), domain,
language, sourcecountry; `tone` maps query text -> {datetime: value}. `.fail(429, ...)` from
ReplayBase. `requests` records every request (the tests check windows and paging with it).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Iterable, Mapping

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.fakes.bis import ReplayBase, drive

UTC = dt.timezone.utc


def stamp(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def article(url: str, seen: dt.datetime, title: str = "Russia and China", domain: str = "example.com",
            language: str = "English", sourcecountry: str = "United States") -> dict:
    return {"url": url, "title": title, "seen": seen, "domain": domain, "language": language,
            "sourcecountry": sourcecountry}


class GdeltFake(ReplayBase):
    path_pattern = re.compile(r"^/api/v2/doc/doc$")

    def __init__(self, articles: Mapping[str, Iterable[dict]] | None = None,
                 tone: Mapping[str, Mapping[dt.datetime, float]] | None = None, *,
                 rejected: Mapping[str, str] | None = None, broken_json: bool = False):
        super().__init__()
        self.articles = {q: sorted(items, key=lambda a: a["seen"], reverse=True) for q, items in (articles or {}).items()}
        self.tone = {q: dict(sorted(points.items())) for q, points in (tone or {}).items()}
        self.rejected = dict(rejected or {})
        self.broken_json = broken_json

    def respond(self, request: WRequest) -> Response:
        args = request.args
        query = args.get("query", "")
        if query in self.rejected:
            return Response(self.rejected[query] + "\n", status=200, content_type="text/html; charset=utf-8")
        try:
            begin = dt.datetime.strptime(args["startdatetime"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            end = dt.datetime.strptime(args["enddatetime"], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return Response("Invalid or missing START/END date/time.\n", status=200, content_type="text/html")
        mode = args.get("mode", "").lower()
        if mode == "artlist":
            limit = min(int(args.get("maxrecords", "75")), 250)
            hits = [a for a in self.articles.get(query, []) if begin <= a["seen"] <= end][:limit]
            if args.get("sort", "").lower() != "datedesc":
                hits = sorted(hits, key=lambda a: a["url"])
            body = {"articles": [self._wire(a) for a in hits]} if hits else {}
        elif mode == "timelinetone":
            points = [{"date": stamp(t), "value": v} for t, v in self.tone.get(query, {}).items() if begin <= t <= end]
            body = {"query_details": {"title": query, "date_resolution": "15m"},
                    "timeline": [{"series": "Average Tone", "data": points}]}
        else:
            return Response("Invalid mode specified.\n", status=200, content_type="text/html")
        text = json.dumps(body, ensure_ascii=False)
        if self.broken_json:
            text = text.replace("'", "\\'").replace("Russia", "Rus\x01sia")
        return Response(text.encode("utf-8"), status=200, content_type="application/json; charset=utf-8")

    @staticmethod
    def _wire(a: dict) -> dict:
        return {"url": a["url"], "url_mobile": "", "title": a["title"], "seendate": stamp(a["seen"]),
                "socialimage": "", "domain": a["domain"], "language": a["language"],
                "sourcecountry": a["sourcecountry"]}


def collect(fetcher, client, start: dt.date, end: dt.date, max_pages: int = 50):
    """`drive` (tests/fakes/bis.py) flattened with candidates: (observations, candidates, warnings,
    requests sent)."""
    results, sent = drive(fetcher, client, start, end, max_pages)
    return ([o for r in results for o in r.observations], [c for r in results for c in r.candidates],
            [w for r in results for w in r.warnings], sent)
