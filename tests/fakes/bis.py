"""A BIS SDMX REST v1 replay (WS_CBPOL) for pytest-httpserver, plus the failure plan the other
fakes in this folder share.

`BisFake(data).install(httpserver)` answers `GET /api/v1/data/WS_CBPOL/D.<AREA+...>/all` with
SDMX-CSV filtered by the key and `startPeriod`/`endPeriod`, the way stats.bis.org does when asked
with `Accept: application/vnd.sdmx.data+csv;version=1.0.0` (another Accept gets 406). `data` maps
area -> {date: value}; a value of None is served as `NaN`. `BisFake.from_wide_csv(path)` builds
the data from the BIS "csv_col" download (one column per date; empty cell = no row, `NaN` kept).
`.fail(503, count=2)` answers the first requests with an error status and `Retry-After`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from typing import Iterable, Mapping

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.conftest import shared_root


def shared_file(*parts: str) -> Path | None:
    """A file under ../shared ($STRESSWATCH_SHARED when set), or None when it is absent (tests then skip)."""
    path = shared_root().joinpath(*parts)
    return path if path.is_file() else None


class Failures:
    """Answer the first `count` requests (every request when count is None) with `status`."""

    def __init__(self, status: int = 503, count: int | None = None, retry_after: str | None = "1",
                 body: bytes = b"Service Temporarily Unavailable"):
        self.status = status
        self.remaining = count
        self.retry_after = retry_after
        self.body = body

    def take(self) -> Response | None:
        if self.remaining is not None:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else {}
        return Response(self.body, status=self.status, headers=headers, content_type="text/plain")


class ReplayBase:
    """Shared plumbing: request log, failure plan, installation on a pytest-httpserver."""

    path_pattern: re.Pattern[str]

    def __init__(self) -> None:
        self.requests: list[WRequest] = []
        self.failures: Failures | None = None

    def fail(self, status: int = 503, count: int | None = None, retry_after: str | None = "1",
             body: bytes = b"Service Temporarily Unavailable") -> "ReplayBase":
        self.failures = Failures(status, count, retry_after, body)
        return self

    def install(self, httpserver) -> str:
        """Register on `httpserver`; return the base URL to put in `[sources.<id>] base_url`."""
        httpserver.expect_request(self.path_pattern).respond_with_handler(self._handle)
        return httpserver.url_for("/").rstrip("/")

    def _handle(self, request: WRequest) -> Response:
        self.requests.append(request)
        if self.failures is not None:
            failed = self.failures.take()
            if failed is not None:
                return failed
        return self.respond(request)

    def respond(self, request: WRequest) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError


class BisFake(ReplayBase):
    path_pattern = re.compile(r"^/api/v1/data/WS_CBPOL/[^/]+/all$")

    def __init__(self, data: Mapping[str, Mapping[dt.date, float | None]], *, attributes: bool = False,
                 no_data_status: int | None = None, dataflow: str = "BIS:WS_CBPOL(1.0)"):
        super().__init__()
        self.data = {area: dict(sorted(values.items())) for area, values in data.items()}
        self.attributes = attributes
        self.no_data_status = no_data_status
        self.dataflow = dataflow

    @classmethod
    def from_wide_csv(cls, path: Path, areas: Iterable[str] | None = None, start: dt.date | None = None,
                      end: dt.date | None = None, **kwargs) -> "BisFake":
        """Data from the BIS csv_col file (REF_AREA in column 3, dates from the first ISO-date column)."""
        wanted = set(areas) if areas is not None else None
        data: dict[str, dict[dt.date, float | None]] = {}
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            i_area = header.index("REF_AREA")
            first = next(i for i, h in enumerate(header) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", h))
            dates = [dt.date.fromisoformat(h) for h in header[first:]]
            lo = next((i for i, d in enumerate(dates) if start is None or d >= start), len(dates))
            hi = max((i + 1 for i, d in enumerate(dates) if end is None or d <= end), default=0)
            for row in reader:
                area = row[i_area]
                if wanted is not None and area not in wanted:
                    continue
                values: dict[dt.date, float | None] = {}
                for date, cell in zip(dates[lo:hi], row[first + lo:first + hi]):
                    cell = cell.strip()
                    if not cell:
                        continue
                    values[date] = None if cell.lower() == "nan" else float(cell)
                data[area] = values
        return cls(data, **kwargs)

    def respond(self, request: WRequest) -> Response:
        accept = request.headers.get("Accept", "")
        if "csv" not in accept:
            return Response('<?xml version="1.0"?><message:Error>Not acceptable</message:Error>', status=406,
                            content_type="application/xml")
        key = request.path.split("/")[5]
        freq, _, area_part = key.partition(".")
        areas = [a for a in area_part.split("+") if a] or sorted(self.data)
        start = request.args.get("startPeriod")
        end = request.args.get("endPeriod")
        lo = dt.date.fromisoformat(start) if start else dt.date.min
        hi = dt.date.fromisoformat(end) if end else dt.date.max
        out = io.StringIO()
        writer = csv.writer(out)
        columns = ["DATAFLOW", "FREQ", "REF_AREA", "TIME_PERIOD", "OBS_VALUE"]
        if self.attributes:
            columns += ["UNIT_MEASURE", "TITLE", "OBS_STATUS"]
        writer.writerow(columns)
        rows = 0
        if freq == "D":
            for area in areas:
                for date, value in self.data.get(area, {}).items():
                    if not lo <= date <= hi:
                        continue
                    cells = [self.dataflow, "D", area, date.isoformat(), "NaN" if value is None else repr(value)]
                    if self.attributes:
                        cells += ["368", f"Central bank policy rates - {area} - Daily, \"end\" of period", "A"]
                    writer.writerow(cells)
                    rows += 1
        if rows == 0 and self.no_data_status is not None:
            return Response("NoResultsFound", status=self.no_data_status, content_type="text/plain")
        return Response(out.getvalue(), status=200,
                        content_type="application/vnd.sdmx.data+csv; version=1.0.0; charset=utf-8")


def drive(fetcher, client, start: dt.date, end: dt.date, max_pages: int = 100):
    """Run `fetcher` over [start, end] through an `HttpClient`: send each request, raise on an error
    status, parse, follow pages. Returns (parse results, requests sent). A test driver for one
    source; the pipeline does the same plus archiving and the ledger."""
    results, sent = [], 0
    for request in fetcher.build_requests(start, end):
        pages = 0
        while request is not None:
            pages += 1
            if pages > max_pages:
                raise AssertionError(f"more than {max_pages} pages for {request.display()}")
            response = client.send(request)
            sent += 1
            client.raise_for_status(response)
            result = fetcher.parse(response.body, request, response.content_type)
            results.append(result)
            request = result.follow_up
    return results, sent


def fetch_through(fetcher, client, start: dt.date, end: dt.date, max_pages: int = 100):
    """`drive`, flattened: (observations, warnings, requests sent)."""
    results, sent = drive(fetcher, client, start, end, max_pages)
    return [o for r in results for o in r.observations], [w for r in results for w in r.warnings], sent
