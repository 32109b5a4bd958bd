"""A FRED replay for pytest-httpserver: keyless fredgraph.csv and the JSON observations API.

`FredFake(data).install(httpserver)` answers `GET /graph/fredgraph.csv?id=A[,B]&cosd=..&coed=..`
in the current layout (`observation_date` header, empty field for a missing value) or, with
`layout="old"`, the pre-Dec-2024 one (`DATE`, `.`), outer-joined over the requested ids; and
`GET /fred/series/observations?series_id=..&api_key=..&file_type=json&...&limit=..&offset=..`
with string values, `.` for missing, `count`/`offset`/`limit`, and FRED's 400 JSON error for a
wrong key or unknown series. `data` maps FRED id -> {date: value or None (holiday row)}.
`FredFake.from_csv(path, id)` reads a `date,value` history file (blank = missing).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Mapping

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.fakes.bis import ReplayBase


class FredFake(ReplayBase):
    path_pattern = re.compile(r"^/(graph/fredgraph\.csv|fred/series/observations)$")

    def __init__(self, data: Mapping[str, Mapping[dt.date, float | None]], *, layout: str = "new",
                 api_key: str | None = None):
        super().__init__()
        if layout not in ("new", "old"):
            raise ValueError("layout is 'new' or 'old'")
        self.data = {fid: dict(sorted(values.items())) for fid, values in data.items()}
        self.layout = layout
        self.api_key = api_key

    @classmethod
    def from_csv(cls, path: Path, fred_id: str, **kwargs) -> "FredFake":
        values: dict[dt.date, float | None] = {}
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            next(reader)
            for row in reader:
                if not row or not row[0].strip():
                    continue
                cell = row[1].strip() if len(row) > 1 else ""
                values[dt.date.fromisoformat(row[0].strip())] = float(cell) if cell not in ("", ".") else None
        return cls({fred_id: values}, **kwargs)

    def respond(self, request: WRequest) -> Response:
        if request.path.endswith("fredgraph.csv"):
            return self._csv(request)
        return self._api(request)

    @staticmethod
    def _range(start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
        return (dt.date.fromisoformat(start) if start else dt.date.min,
                dt.date.fromisoformat(end) if end else dt.date.max)

    def _csv(self, request: WRequest) -> Response:
        ids = [i for i in request.args.get("id", "").split(",") if i]
        unknown = [i for i in ids if i not in self.data]
        if not ids or unknown:
            return Response("<!DOCTYPE html><html><body><h1>Error - Series not found</h1></body></html>",
                            status=404, content_type="text/html")
        lo, hi = self._range(request.args.get("cosd"), request.args.get("coed"))
        dates = sorted({d for i in ids for d in self.data[i] if lo <= d <= hi})
        missing = "." if self.layout == "old" else ""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["DATE" if self.layout == "old" else "observation_date", *ids])
        for date in dates:
            cells = []
            for i in ids:
                value = self.data[i].get(date)
                cells.append(missing if value is None else f"{value:.15g}")
            writer.writerow([date.isoformat(), *cells])
        return Response(out.getvalue(), status=200, content_type="text/csv")

    def _api(self, request: WRequest) -> Response:
        def error(message: str) -> Response:
            return Response(json.dumps({"error_code": 400, "error_message": message}), status=400,
                            content_type="application/json")

        key = request.args.get("api_key", "")
        if not key:
            return error("Bad Request.  Variable api_key is not set.  Read https://fred.stlouisfed.org/docs/api/"
                         "api_key.html for more information.")
        if key != self.api_key:
            return error("Bad Request.  The value for variable api_key is not registered.  Read "
                         "https://fred.stlouisfed.org/docs/api/api_key.html for more information.")
        fid = request.args.get("series_id", "")
        if fid not in self.data:
            return error("Bad Request.  The series does not exist.")
        if request.args.get("file_type") != "json":
            return Response('<?xml version="1.0"?><observations/>', status=200, content_type="text/xml")
        lo, hi = self._range(request.args.get("observation_start"), request.args.get("observation_end"))
        rows = [(d, v) for d, v in self.data[fid].items() if lo <= d <= hi]
        limit = int(request.args.get("limit", "100000"))
        offset = int(request.args.get("offset", "0"))
        page = rows[offset:offset + limit]
        today = "2026-11-28"
        payload = {
            "realtime_start": today, "realtime_end": today,
            "observation_start": request.args.get("observation_start", "1600-01-01"),
            "observation_end": request.args.get("observation_end", "9999-12-31"),
            "units": "lin", "output_type": 1, "file_type": "json", "order_by": "observation_date",
            "sort_order": "asc", "count": len(rows), "offset": offset, "limit": limit,
            "observations": [{"realtime_start": today, "realtime_end": today, "date": d.isoformat(),
                              "value": "." if v is None else f"{v:.15g}"} for d, v in page],
        }
        return Response(json.dumps(payload), status=200, content_type="application/json")
