"""An IMF SDMX 3.0 replay (api.imf.org, IMTS) for pytest-httpserver.

`ImfFake(data).install(httpserver)` answers
`GET /external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/<version>/<COUNTRY>.<IND+IND>.<PARTNER>.<FREQ>`
with an SDMX-JSON 2.0 data message in the shape api.imf.org sends (index-keyed series and
observations, values as strings, `YYYY-MMM` periods), filtered by the key and by
`c[TIME_PERIOD]=ge:YYYY-Mmm+le:YYYY-Mmm`. Like the real service: another Accept than SDMX-JSON gets
406 with the JSON error body; an unknown dataflow gets 204 with an empty body; a key or window with
no data gets 200 and a dataset without `series`. `data` maps
(reporter, indicator, partner) -> {date: value or None}; None is served as a null value.
`.fail(503, count=2)` (from ReplayBase) answers the first requests with an error and Retry-After.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Mapping

from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.fakes.bis import ReplayBase

SeriesKey = tuple[str, str, str]


def period_code(day: dt.date) -> str:
    return f"{day.year:04d}-M{day.month:02d}"


def _parse_bound(text: str) -> tuple[int, int]:
    year, _, month = text.partition("-M")
    return int(year), int(month or 1)


class ImfFake(ReplayBase):
    path_pattern = re.compile(r"^/external/sdmx/3\.0/data/dataflow/[^/]+/[^/]+/[^/]+/[^/]+$")

    def __init__(self, data: Mapping[SeriesKey, Mapping[dt.date, float | None]], *, dataflows=("IMTS",)):
        super().__init__()
        self.data = {key: dict(sorted(values.items())) for key, values in data.items()}
        self.dataflows = set(dataflows)

    def respond(self, request: WRequest) -> Response:
        accept = request.headers.get("Accept", "")
        if "sdmx.data+json" not in accept:
            return self.error(406, "Not Acceptable: ask for application/vnd.sdmx.data+json;version=2.0.0")
        _, agency, flow, _version, key = request.path.rsplit("/", 4)
        if agency != "IMF.STA" or flow not in self.dataflows:
            return Response(b"", status=204)
        parts = key.split(".")
        if len(parts) != 4:
            return self.error(400, f"key {key} does not match COUNTRY.INDICATOR.COUNTERPART_COUNTRY.FREQUENCY")
        wanted = [p.split("+") if p not in ("*", "") else None for p in parts]
        for codes in (wanted[0] or []) + (wanted[2] or []):
            if not re.fullmatch(r"[A-Z0-9]{3,4}", codes):
                return self.error(400, f"Invalid key: {codes} is not in codelist CL_COUNTRY")
        lo, hi = (0, 0), (9999, 12)
        for clause in (request.args.get("c[TIME_PERIOD]") or "").split("+"):
            if clause.startswith("ge:"):
                lo = _parse_bound(clause[3:])
            elif clause.startswith("le:"):
                hi = _parse_bound(clause[3:])
        selected: dict[SeriesKey, dict[dt.date, float | None]] = {}
        for (country, indicator, partner), values in self.data.items():
            if any(w is not None and v not in w for w, v in zip(wanted, (country, indicator, partner, "M"))):
                continue
            kept = {d: v for d, v in values.items() if lo <= (d.year, d.month) <= hi}
            if kept:
                selected[(country, indicator, partner)] = kept
        return Response(json.dumps(self.message(selected)), status=200, content_type="application/json")

    @staticmethod
    def error(status: int, message: str) -> Response:
        body = {"code": status, "message": message, "correlationId": "0f3c", "path": "/external/sdmx/3.0/data"}
        return Response(json.dumps(body), status=status, content_type="application/json")

    @staticmethod
    def message(selected: Mapping[SeriesKey, Mapping[dt.date, float | None]]) -> dict:
        """The SDMX-JSON 2.0 data message for these series (no `series` key when empty)."""
        countries = sorted({k[0] for k in selected})
        indicators = sorted({k[1] for k in selected})
        partners = sorted({k[2] for k in selected})
        periods = sorted({d for values in selected.values() for d in values})
        p_index = {d: i for i, d in enumerate(periods)}
        dataset: dict = {"structure": 0, "action": "Replace"}
        if selected:
            series = {}
            for (country, indicator, partner), values in sorted(selected.items()):
                skey = f"{countries.index(country)}:{indicators.index(indicator)}:{partners.index(partner)}:0"
                series[skey] = {
                    "attributes": [0, None, None],
                    "observations": {str(p_index[d]): [None if v is None else repr(float(v)), None, 0]
                                     for d, v in values.items()},
                }
            dataset["series"] = series
        dims = [
            {"id": "COUNTRY", "keyPosition": 0, "roles": [], "values": [{"id": c} for c in countries]},
            {"id": "INDICATOR", "keyPosition": 1, "roles": [], "values": [{"id": i} for i in indicators]},
            {"id": "COUNTERPART_COUNTRY", "keyPosition": 2, "roles": [], "values": [{"id": p} for p in partners]},
            {"id": "FREQUENCY", "keyPosition": 3, "roles": ["FREQ"], "values": [{"id": "M"}] if selected else []},
        ]
        return {"meta": {}, "data": {"dataSets": [dataset], "structures": [{
            "dataSets": [0],
            "links": [{"urn": "urn:sdmx:org.sdmx.infomodel.datastructure.Dataflow=IMF.STA:IMTS(1.0.0)",
                       "title": "Dataflow"}],
            "dimensions": {"series": dims, "observation": [
                {"id": "TIME_PERIOD", "keyPosition": 4, "values": [{"value": period_code(d)} for d in periods]}]},
            "measures": {"observation": [{"id": "OBS_VALUE", "roles": []}]},
            "attributes": {"series": [{"id": "SCALE", "values": [{"id": "0"}]}],
                           "observation": [{"id": "PRECISION", "values": []}, {"id": "STATUS", "values": [{"id": "A"}]}]},
            "annotations": [],
        }]}}
