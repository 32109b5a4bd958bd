"""A UN Comtrade public-preview replay for pytest-httpserver.

`ComtradeFake(data).install(httpserver)` answers `GET /public/v1/preview/C/M/HS?reporterCode=..&
partnerCode=..&period=YYYYMM,..&flowCode=M,X&cmdCode=TOTAL&...` with Comtrade's JSON
(`{"elapsedTime", "count", "data": [rows in the real column set], "error": ""}`), one row per
requested reporter, partner, flow and month that has data. Unknown parameters or no data give
HTTP 200 `{"count": 0, "data": [], "error": ""}`, as Comtrade does. `data` maps
(reporter_code, partner_code, flow) -> {first-of-month date: USD value}.
`.throttle(count, retry_after=None)` answers the first `count` requests with the API-management 429
JSON (`{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."}`), with a
`Retry-After` header only when given; `.fail(503, ...)` comes from ReplayBase.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Mapping

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.fakes.bis import Failures, ReplayBase

ISO = {156: "CHN", 643: "RUS", 0: "W00", 32: "ARG", 276: "DEU"}
FLOW_DESC = {"M": "Import", "X": "Export"}


class _ApimFailures(Failures):
    def take(self) -> Response | None:
        response = super().take()
        if response is not None:
            response.content_type = "application/json"
        return response


class ComtradeFake(ReplayBase):
    path_pattern = re.compile(r"^/public/v1/preview/[A-Z]/[A-Z]/[A-Z0-9]+$")

    def __init__(self, data: Mapping[tuple[int, int, str], Mapping[dt.date, float]]):
        super().__init__()
        self.data = {key: dict(values) for key, values in data.items()}

    def throttle(self, count: int, retry_after: str | None = None) -> "ComtradeFake":
        body = json.dumps({"statusCode": 429, "message": "Rate limit is exceeded. Try again in 1 seconds."})
        self.failures = _ApimFailures(429, count, retry_after, body.encode())
        return self

    def respond(self, request: WRequest) -> Response:
        type_code, freq_code, cl_code = request.path.rsplit("/", 3)[1:]
        args = request.args
        try:
            reporters = [int(x) for x in args.get("reporterCode", "").split(",") if x]
            partners = [int(x) for x in args.get("partnerCode", "").split(",") if x]
        except ValueError:
            return self.answer([])
        periods = [p for p in args.get("period", "").split(",") if p]
        flows = [f for f in args.get("flowCode", "").split(",") if f]
        if (type_code, freq_code, cl_code) != ("C", "M", "HS") or args.get("cmdCode") != "TOTAL" \
                or any(not re.fullmatch(r"\d{6}", p) for p in periods):
            return self.answer([])  # Comtrade's answer to parameters it cannot serve
        rows = []
        for reporter in reporters:
            for partner in partners:
                for flow in flows:
                    values = self.data.get((reporter, partner, flow), {})
                    for period in periods:
                        day = dt.date(int(period[:4]), int(period[4:]), 1)
                        if day in values:
                            rows.append(self.row(reporter, partner, flow, day, values[day]))
        return self.answer(rows)

    @staticmethod
    def answer(rows: list[dict]) -> Response:
        body = {"elapsedTime": "0.05 secs", "count": len(rows), "data": rows, "error": ""}
        return Response(json.dumps(body), status=200, content_type="application/json; charset=utf-8")

    @staticmethod
    def row(reporter: int, partner: int, flow: str, day: dt.date, value: float) -> dict:
        return {
            "typeCode": "C", "freqCode": "M", "refPeriodId": int(day.strftime("%Y%m%d")), "refYear": day.year,
            "refMonth": day.month, "period": day.strftime("%Y%m"), "reporterCode": reporter,
            "reporterISO": ISO.get(reporter, str(reporter)), "flowCode": flow,
            "partnerCode": partner, "partnerISO": ISO.get(partner, str(partner)),
            "partner2Code": 0, "partner2ISO": "W00", "classificationCode": "H6",
            "classificationSearchCode": "HS", "isOriginalClassification": True, "cmdCode": "TOTAL",
            "aggrLevel": 0, "isLeaf": False, "customsCode": "C00", "mosCode": "0", "motCode": 0,
            "qtyUnitCode": -1, "qtyUnitAbbr": "N/A", "qty": None, "isQtyEstimated": False,
            "altQtyUnitCode": -1, "altQtyUnitAbbr": "N/A", "altQty": None, "isAltQtyEstimated": False,
            "netWgt": None, "isNetWgtEstimated": False, "grossWgt": None, "isGrossWgtEstimated": False,
            "cifvalue": float(value) if flow == "M" else None, "fobvalue": float(value) if flow == "X" else None,
            "primaryValue": float(value), "legacyEstimationFlag": 0, "isReported": True, "isAggregate": False,
        }
