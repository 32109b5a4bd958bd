"""IMF International Trade in Goods (IMTS, formerly DOTS) over SDMX 3.0 on api.imf.org.

Owns the request for China's monthly goods trade with Russia and the decoder of the SDMX-JSON 2.0
data message the IMF answers with. Everything here is pure: `build_requests` describes one request
per window, `parse` turns its bytes into observations.

Wire format (SOURCES.md section 5a): `data.dataSets[0].series` is keyed by colon-joined indexes into
`data.structures[0].dimensions.series[i].values`; each series' `observations` is keyed by an index
into `dimensions.observation[0].values` (TIME_PERIOD) and holds `[value-as-string, attribute
indexes...]`. A dataset without `series`, HTTP 204 and an empty body all mean "no data". Errors
come as JSON `{"code", "message", ...}`.

Publication lag: China customs publishes monthly trade by partner within ~3 weeks and the IMF
loads IMTS roughly a month or more after that; 75 days after the first of the month (about six
weeks after the month ends) is a deliberately conservative "known by" for history loaded after the
fact, so backtests never see a month before it could have been in IMTS.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

from stresswatch.fetchers.base import Fetcher, Observation, ParseResult, Request, SeriesInfo, register
from stresswatch.settings import Setting

ACCEPT = "application/vnd.sdmx.data+json;version=2.0.0"
PUBLICATION_LAG_DAYS = 75

INDICATOR_NAMES = {
    "XG_FOB_USD": "exports, FOB",
    "MG_CIF_USD": "imports, CIF",
    "MG_FOB_USD": "imports, FOB",
    "TBG_USD": "trade balance",
}

_PERIOD = re.compile(r"^(\d{4})(?:-?(?:M(\d{1,2})|(\d{2})|Q([1-4])|A1?|S([12])))?$")


# ---------------------------------------------------------------------------------------------
# SDMX-JSON 2.0 decoding (generic: any dataflow)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SdmxObservation:
    """One decoded observation: the series' dimension ids by dimension id, the period, the value
    string as sent (None when the source sent null)."""

    key: dict[str, str]
    period: str
    value: str | None


class SdmxDecodeError(ValueError):
    """The message is JSON but not a decodable SDMX-JSON 2.0 data message."""


def decode_sdmx_json(payload: Any) -> Iterator[SdmxObservation]:
    """Yield every observation of an SDMX-JSON 2.0 data message (dict already loaded).

    A dataset without `series` yields nothing. Raises SdmxDecodeError on a broken structure
    (an index that points nowhere, a missing `structures` block).
    """
    try:
        data = payload["data"]
        datasets = data.get("dataSets") or []
        structures = data.get("structures") or []
    except (KeyError, TypeError, AttributeError):
        raise SdmxDecodeError("no data.dataSets block: not an SDMX-JSON data message") from None
    if not isinstance(datasets, list) or not isinstance(structures, list):
        raise SdmxDecodeError("data.dataSets and data.structures must be lists")
    for number, dataset in enumerate(datasets):
        if not isinstance(dataset, dict):
            raise SdmxDecodeError(f"dataSets[{number}] is {_kind(dataset)}, not an object")
        series_map = dataset.get("series")
        if not series_map:
            continue
        if not isinstance(series_map, dict):
            raise SdmxDecodeError(f"dataSets[{number}].series is {_kind(series_map)}, not an object")
        index = dataset.get("structure", 0) or 0
        try:
            structure = structures[index]
            series_dims = structure["dimensions"]["series"]
            obs_dims = structure["dimensions"]["observation"]
        except (IndexError, KeyError, TypeError):
            raise SdmxDecodeError(f"dataset refers to structure {index}, which is missing or incomplete") from None
        time_dim = next((d for d in obs_dims if d.get("id") == "TIME_PERIOD"), obs_dims[0] if obs_dims else None)
        if time_dim is None:
            raise SdmxDecodeError("structure has no observation dimension (TIME_PERIOD)")
        periods = [_value_code(v) for v in time_dim.get("values", [])]
        for series_key, series in series_map.items():
            key = _decode_series_key(series_key, series_dims)
            if not isinstance(series, dict):
                raise SdmxDecodeError(f"series {series_key} is {_kind(series)}, not an object")
            observations = series.get("observations")
            if not isinstance(observations, (dict, type(None))):
                raise SdmxDecodeError(f"series {series_key}: observations is {_kind(observations)}, not an object")
            for obs_key, obs in (observations or {}).items():
                try:
                    period = periods[int(obs_key)]
                except (ValueError, IndexError):
                    raise SdmxDecodeError(f"observation key {obs_key!r} of series {series_key} points to no "
                                          f"TIME_PERIOD value ({len(periods)} known)") from None
                raw = obs[0] if isinstance(obs, list) and obs else None
                yield SdmxObservation(key, period, None if raw is None else str(raw))


def _kind(value: Any) -> str:
    """What a JSON value is, for messages: `a string 'x'`, `a list`, `null`."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"a string {value[:40]!r}"
    return {list: "a list", dict: "an object", bool: "a boolean"}.get(type(value), f"a number {value!r}")


def _value_code(value: dict) -> str:
    return str(value.get("id", value.get("value", "")))


def _decode_series_key(series_key: str, dims: list[dict]) -> dict[str, str]:
    parts = series_key.split(":") if series_key else []
    if len(parts) != len(dims):
        raise SdmxDecodeError(f"series key {series_key!r} has {len(parts)} positions, structure has {len(dims)}")
    key: dict[str, str] = {}
    for part, dim in zip(parts, dims):
        try:
            key[str(dim.get("id"))] = _value_code(dim["values"][int(part)])
        except (ValueError, IndexError, KeyError):
            raise SdmxDecodeError(f"series key {series_key!r}: index {part!r} not in dimension {dim.get('id')}") from None
    return key


def period_start(period: str) -> dt.date:
    """First day of an SDMX period: `2024-M01`, `2024-01`, `2024-Q2`, `2024`, `2024-A1`, `2024-S2`."""
    match = _PERIOD.match(period.strip())
    if not match:
        raise ValueError(f"unrecognised period {period!r}")
    year = int(match.group(1))
    month_text = match.group(2) or match.group(3)
    if month_text:
        month = int(month_text)
        if not 1 <= month <= 12:
            raise ValueError(f"month out of range in period {period!r}")
        return dt.date(year, month, 1)
    if match.group(4):
        return dt.date(year, (int(match.group(4)) - 1) * 3 + 1, 1)
    if match.group(5):
        return dt.date(year, 1 if match.group(5) == "1" else 7, 1)
    return dt.date(year, 1, 1)


def month_period(day: dt.date) -> str:
    return f"{day.year:04d}-M{day.month:02d}"


# ---------------------------------------------------------------------------------------------
# The fetcher
# ---------------------------------------------------------------------------------------------
@register
class ImfFetcher(Fetcher):
    """IMF IMTS: China's monthly goods trade with Russia (SDMX 3.0, api.imf.org)."""

    id = "imf"
    parser_version = "1"
    default_base_url = "https://api.imf.org"
    window = "year"
    earliest = dt.date(1990, 1, 1)
    overlap_days = 120  # IMTS revises recent months; an incremental fetch re-asks for them

    extra_settings = (
        Setting("reporter", "str", "CHN", "reporting country (ISO-3); China reports, Russia stopped in 2022"),
        Setting("partner", "str", "RUS", "counterpart country (ISO-3)"),
        Setting("indicators", "list[str]", ["XG_FOB_USD", "MG_CIF_USD"],
                "IMTS indicators (XG_FOB_USD exports, MG_CIF_USD imports, MG_FOB_USD, TBG_USD)"),
        Setting("dataflow_version", "str", "+", "IMTS dataflow version; + = latest"),
        Setting("publication_lag_days", "int", PUBLICATION_LAG_DAYS,
                "days after the first of the month at which a month counts as published", minimum=0),
    )
    default_overrides = {"min_interval": 1.0}

    @property
    def reporter(self) -> str:
        return str(self.settings.get("reporter") or "CHN").upper()

    @property
    def partner(self) -> str:
        return str(self.settings.get("partner") or "RUS").upper()

    @property
    def indicators(self) -> list[str]:
        return [str(i).upper() for i in (self.settings.get("indicators") or ["XG_FOB_USD", "MG_CIF_USD"])]

    def series_id(self, indicator: str) -> str:
        return f"imf.imts.{self.reporter}_{self.partner}.{indicator}"

    def series(self) -> list[SeriesInfo]:
        lag = int(self.settings.get("publication_lag_days", PUBLICATION_LAG_DAYS))
        return [
            SeriesInfo(self.series_id(ind), self.id,
                       f"IMF IMTS {self.reporter}->{self.partner} {INDICATOR_NAMES.get(ind, ind)}",
                       "USD", "M", lag)
            for ind in self.indicators
        ]

    def continuous_series(self) -> list[SeriesInfo]:
        """None: an IMTS window may hold no value without a hole (a dataset without series, months
        China reports only combined), so an empty answer stays "no data" (docs/data.md)."""
        return []

    def build_requests(self, start: dt.date, end: dt.date) -> list[Request]:
        if start > end:
            return []
        version = str(self.settings.get("dataflow_version") or "+")
        key = f"{self.reporter}.{'+'.join(self.indicators)}.{self.partner}.M"
        url = f"{self.base_url}/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/{version}/{key}"
        time_filter = f"ge:{month_period(start)}+le:{month_period(end)}"
        return [Request(
            "GET", url,
            params=(("c[TIME_PERIOD]", time_filter),),
            headers=(("Accept", ACCEPT),),
            label=f"IMTS {self.reporter}-{self.partner} {month_period(start)}..{month_period(end)}",
            context=(("start", start.isoformat()), ("end", end.isoformat())),
        )]

    def parse_body(self, body: bytes, request: Request, content_type: str = "") -> ParseResult:
        text = body.decode("utf-8-sig", errors="replace").strip() if body else ""
        if not text:  # HTTP 204 No Content, or an empty 200
            return ParseResult(warnings=[f"imf: empty answer for {request.label or request.display()}"])
        if text[0] not in "{[":
            snippet = re.sub(r"<[^>]+>", " ", text[:300])
            raise self.parse_error(request, f"expected SDMX-JSON, got {content_type or 'text'}: "
                                            f"{' '.join(snippet.split())[:200]}")
        try:
            payload = json.loads(text)
        except json.JSONDecodeError as exc:
            raise self.parse_error(request, f"invalid or truncated JSON ({exc.msg} at char {exc.pos})") from None
        if isinstance(payload, dict) and "data" not in payload:
            message = _error_message(payload)
            raise self.parse_error(request, f"IMF error: {message}" if message
                                   else "JSON without a data block: not an SDMX-JSON data message")
        wanted = {ind: self.series_id(ind) for ind in self.indicators}
        result = ParseResult()
        unknown: set[str] = set()
        try:
            for obs in decode_sdmx_json(payload):
                key = obs.key
                if key.get("COUNTRY", self.reporter) != self.reporter or \
                        key.get("COUNTERPART_COUNTRY", self.partner) != self.partner or \
                        key.get("FREQUENCY", key.get("FREQ", "M")) != "M":
                    unknown.add(".".join(key.values()))
                    continue
                series_id = wanted.get(key.get("INDICATOR", ""))
                if series_id is None:
                    unknown.add(".".join(key.values()))
                    continue
                if obs.value is None or obs.value.strip() in ("", "NaN", "NA", "-"):
                    continue  # a gap, not a zero
                try:
                    value = float(obs.value)
                    day = period_start(obs.period)
                except ValueError as exc:
                    raise self.parse_error(request, f"series {series_id}: {exc}") from None
                result.observations.append(Observation(series_id, day, value))
        except SdmxDecodeError as exc:
            raise self.parse_error(request, str(exc)) from None
        if unknown:
            result.warnings.append(f"imf: ignored series not configured: {', '.join(sorted(unknown))}")
        result.observations.sort(key=lambda o: (o.series_id, o.date))
        return result


def _error_message(payload: dict) -> str:
    """Text of an IMF / SDMX error body: `{"code","message",...}` or `{"errors":[{"title"...}]}`."""
    if payload.get("message"):
        code = payload.get("code") or payload.get("statusCode")
        return f"{payload['message']}" + (f" (code {code})" if code else "")
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {"title": str(errors[0])}
        return str(first.get("title") or first.get("detail") or first.get("message") or first)
    return ""
