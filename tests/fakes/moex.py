"""A MOEX ISS replay for pytest-httpserver: the index history endpoint with cursor paging.

`MoexFake(data, page_size=100).install(httpserver)` answers
`GET /iss/history/engines/stock/markets/index/securities/<SECID>.json?from=..&till=..&start=N`
with ISS JSON blocks: `history` (metadata, columns, data rows of the SNDX board) and
`history.cursor` (`[[INDEX, TOTAL, PAGESIZE]]`). An unknown SECID gets empty `data` and TOTAL 0,
as ISS does. `data` maps SECID -> {date: close or None}. `MoexFake.from_iss_csv(path)` reads an
ISS CSV export (`;`-separated, DD.MM.YYYY dates, decimal commas).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Mapping

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.fakes.bis import ReplayBase

COLUMNS = ["BOARDID", "SECID", "TRADEDATE", "SHORTNAME", "NAME", "CLOSE", "OPEN", "HIGH", "LOW", "VALUE",
           "DURATION", "YIELD", "DECIMALS", "CAPITALIZATION", "CURRENCYID", "DIVISOR", "TRADINGSESSION",
           "VOLUME"]
_TYPES = {"BOARDID": "string", "SECID": "string", "TRADEDATE": "date", "SHORTNAME": "string", "NAME": "string",
          "CURRENCYID": "string", "DECIMALS": "int32", "TRADINGSESSION": "string"}


class MoexFake(ReplayBase):
    path_pattern = re.compile(r"^/iss/history/engines/stock/markets/index/securities/[A-Za-z0-9_]+\.json$")

    def __init__(self, data: Mapping[str, Mapping[dt.date, float | None]], *, page_size: int = 100):
        super().__init__()
        self.data = {secid: dict(sorted(values.items())) for secid, values in data.items()}
        self.page_size = page_size

    @classmethod
    def from_iss_csv(cls, path: Path, secid: str = "IMOEX", **kwargs) -> "MoexFake":
        values: dict[dt.date, float | None] = {}
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh, delimiter=";")
            for row in reader:
                if row.get("SECID") != secid:
                    continue
                day, month, year = row["TRADEDATE"].split(".")
                close = (row.get("CLOSE") or "").replace(",", ".").strip()
                values[dt.date(int(year), int(month), int(day))] = float(close) if close else None
        return cls({secid: values}, **kwargs)

    def respond(self, request: WRequest) -> Response:
        secid = request.path.rsplit("/", 1)[1][:-len(".json")]
        lo = dt.date.fromisoformat(request.args["from"]) if request.args.get("from") else dt.date.min
        hi = dt.date.fromisoformat(request.args["till"]) if request.args.get("till") else dt.date.max
        start = int(request.args.get("start", "0"))
        rows = [(d, v) for d, v in self.data.get(secid, {}).items() if lo <= d <= hi]
        page = rows[start:start + self.page_size]
        data = [["SNDX", secid, d.isoformat(), "Индекс МосБиржи", "Индекс МосБиржи", v,
                 None if v is None else round(v * 1.001, 2), None if v is None else round(v * 1.01, 2),
                 None if v is None else round(v * 0.99, 2), 49939403257.73, 0, 0, 2, 6.6e12, "RUB",
                 2633131793.7473, "3", None] for d, v in page]
        payload = {
            "history": {
                "metadata": {c: {"type": _TYPES.get(c, "double")} for c in COLUMNS},
                "columns": COLUMNS,
                "data": data,
            },
            "history.cursor": {
                "metadata": {"INDEX": {"type": "int64"}, "TOTAL": {"type": "int64"}, "PAGESIZE": {"type": "int64"}},
                "columns": ["INDEX", "TOTAL", "PAGESIZE"],
                "data": [[start, len(rows), self.page_size]],
            },
        }
        return Response(json.dumps(payload, ensure_ascii=False), status=200,
                        content_type="application/json; charset=utf-8")
