"""UN Comtrade: request building, row decoding, the real captures, the wire (429 throttling), the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from werkzeug.wrappers import Response

from stresswatch import cli
from stresswatch.errors import ParseError, SourceRejected, SourceUnavailable
from stresswatch.fetchers.base import load_all
from stresswatch.fetchers.comtrade import ComtradeFetcher, decode_rows, month_list
from tests.conftest import specimen
from tests.fakes.bis import fetch_through
from tests.fakes.comtrade import ComtradeFake
from tests.fetchers.conftest import http_client, make_fetcher

D = dt.date
X, M = "comtrade.CHN_RUS.X", "comtrade.CHN_RUS.M"
PATH = "/public/v1/preview/C/M/HS"


def body(rows: list[dict], count: int | None = None, error: str = "") -> bytes:
    return json.dumps({"elapsedTime": "0.1 secs", "count": len(rows) if count is None else count,
                       "data": rows, "error": error}).encode()


def row(flow: str, period: str, value, **extra) -> dict:
    base = {"typeCode": "C", "freqCode": "M", "refYear": int(period[:4]), "refMonth": int(period[4:] or 52),
            "period": period, "reporterCode": 156, "flowCode": flow, "partnerCode": 643, "partner2Code": 0,
            "cmdCode": "TOTAL", "customsCode": "C00", "motCode": 0, "primaryValue": value}
    base.update(extra)
    return base


def request_2022():
    fetcher = make_fetcher("comtrade")
    return fetcher, fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]


# -- registration, requests ------------------------------------------------------------------------
def test_registered_with_settings_and_series():
    assert load_all()["comtrade"] is ComtradeFetcher
    fetcher = make_fetcher("comtrade")
    infos = {s.id: s for s in fetcher.series()}
    assert set(infos) == {X, M}
    assert infos[M].unit == "USD" and infos[M].frequency == "M" and infos[M].publication_lag_days == 60


def test_build_requests_twelve_months_per_call():
    fetcher, request = request_2022()
    assert request.url == "https://comtradeapi.un.org/public/v1/preview/C/M/HS"
    params = dict(request.params)
    assert params == {"reporterCode": "156", "partnerCode": "643",
                      "period": ",".join(f"2022{m:02d}" for m in range(1, 13)), "flowCode": "X,M",
                      "cmdCode": "TOTAL", "customsCode": "C00", "motCode": "0", "partner2Code": "0"}
    many = fetcher.build_requests(D(2021, 11, 20), D(2023, 1, 5))
    assert [len(dict(r.params)["period"].split(",")) for r in many] == [12, 3]
    assert dict(many[0].params)["period"].startswith("202111,202112,202201")
    assert dict(many[1].params)["period"] == "202211,202212,202301"
    assert month_list(D(2022, 12, 31), D(2022, 12, 31)) == ["202212"]
    assert fetcher.build_requests(D(2022, 2, 1), D(2022, 1, 1)) == []


# -- parsing ---------------------------------------------------------------------------------------
def test_parse_values_filters_other_rows_and_skips_nulls():
    fetcher, request = request_2022()
    rows = [row("X", "202201", 8.2377e9), row("M", "202201", 1.02e10), row("X", "202202", None),
            row("M", "202203", 8.8e9, partnerCode=0),                 # world, not Russia
            row("X", "202203", 1.0, motCode=1000),                    # a mode-of-transport breakdown
            row("RX", "202203", 2.0), row("X", "2022", 6.0e10, freqCode="A", refMonth=52)]
    result = fetcher.parse(body(rows), request, "application/json")
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [
        (M, D(2022, 1, 1), 1.02e10), (X, D(2022, 1, 1), 8.2377e9)]
    assert result.warnings == []


def test_conflicting_duplicates_keep_the_first_and_warn():
    fetcher, request = request_2022()
    result = fetcher.parse(body([row("X", "202201", 5.0), row("X", "202201", 6.0), row("X", "202201", 5.0)]),
                           request)
    assert [(o.date, o.value) for o in result.observations] == [(D(2022, 1, 1), 5.0)]
    assert len(result.warnings) == 1 and "2022-01" in result.warnings[0]


def test_count_zero_is_empty_with_a_warning():
    fetcher, request = request_2022()
    result = fetcher.parse(b'{"elapsedTime":"0.58 secs","count":0,"data":[],"error":""}', request)
    assert result.observations == [] and "count 0" in result.warnings[0]


@pytest.mark.parametrize("payload, text", [
    (b'{"statusCode": 429, "message": "Rate limit is exceeded. Try again in 2 seconds."}',
     "answered 429: Rate limit is exceeded. Try again in 2 seconds."),
    (b'{"statusCode": 401, "message": "Access denied due to invalid subscription key."}', "invalid subscription key"),
    (body([], error="Invalid period"), "Comtrade error: Invalid period"),
    (b"<html><head><title>503</title></head><body>Service Unavailable</body></html>", "Service Unavailable"),
    (b"", "empty body"),
    (b'{"count": 1, "data": [{"period": "202201"}], "error": ""}', "row 0"),
    (body([row("X", "202213", 1.0)]), "month out of range"),
])
def test_bad_bodies_raise_parse_error(payload, text):
    fetcher, request = request_2022()
    with pytest.raises(ParseError) as info:
        fetcher.parse(payload, request, "application/json")
    assert text in str(info.value) and info.value.source == "comtrade"


@pytest.mark.parametrize("cut", [5, 60, -2])
def test_truncated_body_is_a_parse_error(cut):
    fetcher, request = request_2022()
    with pytest.raises(ParseError, match="truncated"):
        fetcher.parse(body([row("X", "202201", 1.0)])[:cut], request)


# -- real captures ---------------------------------------------------------------------------------
def test_real_annual_capture_rows():
    path = specimen("comtrade", "data_v1_get_C_A_HS_CHN_ARG-DEU_2010_TOTAL.json")
    rows = decode_rows(json.loads(path.read_bytes()))
    got = {(r.partner, r.flow): (r.freq, r.period, r.value) for r in rows}
    assert got == {
        (32, "M"): ("A", D(2010, 1, 1), 6804128143.0), (32, "X"): ("A", D(2010, 1, 1), 6115764185.0),
        (276, "M"): ("A", D(2010, 1, 1), 74251272075.0), (276, "X"): ("A", D(2010, 1, 1), 68047133397.0),
    }
    assert {r.reporter for r in rows} == {156}
    # annual rows for other partners are not the monthly CHN->RUS series
    fetcher, request = request_2022()
    assert fetcher.parse(path.read_bytes(), request, "application/json").observations == []
    # even with the partner set to Argentina: these rows are annual, the series are monthly
    assert make_fetcher("comtrade", partner_code=32).parse(path.read_bytes(), request).observations == []


def test_real_empty_capture():
    path = specimen("comtrade", "data_v1_get_S_A_EB_CHN_2010_empty.json")
    fetcher, request = request_2022()
    result = fetcher.parse(path.read_bytes(), request, "application/json")
    assert result.observations == [] and "count 0" in result.warnings[0]


# -- over the wire ---------------------------------------------------------------------------------
DATA = {
    (156, 643, "X"): {D(2021, 12, 1): 6.8e9, D(2022, 1, 1): 8.2377e9, D(2022, 2, 1): 6.5114e9,
                      D(2022, 3, 1): 5.1e9, D(2023, 1, 1): 8.1e9},
    (156, 643, "M"): {D(2022, 1, 1): 1.02e10, D(2022, 3, 1): 8.8e9},
    (156, 0, "X"): {D(2022, 1, 1): 3.0e11},
}


def test_wire_round_trip(httpserver):
    fake = ComtradeFake(DATA)
    fetcher = make_fetcher("comtrade", base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("comtrade"), D(2022, 1, 1), D(2022, 12, 31))
    assert sent == 1 and warnings == []
    assert {(o.series_id, o.date): o.value for o in obs} == {
        (X, D(2022, 1, 1)): 8.2377e9, (X, D(2022, 2, 1)): 6.5114e9, (X, D(2022, 3, 1)): 5.1e9,
        (M, D(2022, 1, 1)): 1.02e10, (M, D(2022, 3, 1)): 8.8e9}
    [seen] = fake.requests
    assert seen.path == PATH and seen.args["period"].split(",")[0] == "202201"
    assert seen.args["flowCode"] == "X,M" and seen.args["customsCode"] == "C00"


def test_wire_count_zero(httpserver):
    fake = ComtradeFake(DATA)
    fetcher = make_fetcher("comtrade", base_url=fake.install(httpserver))
    obs, warnings, _ = fetch_through(fetcher, http_client("comtrade"), D(2030, 1, 1), D(2030, 12, 31))
    assert obs == [] and "count 0" in warnings[0]


@pytest.mark.parametrize("retry_after", ["1", None])
def test_wire_apim_429_is_retried_with_or_without_retry_after(httpserver, retry_after):
    fake = ComtradeFake(DATA).throttle(2, retry_after=retry_after)
    fetcher = make_fetcher("comtrade", base_url=fake.install(httpserver))
    obs, _, sent = fetch_through(fetcher, http_client("comtrade", retries=3), D(2022, 3, 1), D(2022, 3, 31))
    assert sent == 1 and len(fake.requests) == 3
    assert sorted((o.series_id, o.value) for o in obs) == [(M, 8.8e9), (X, 5.1e9)]


def test_wire_apim_429_that_never_ends_is_unavailable(httpserver):
    fake = ComtradeFake(DATA).throttle(None)
    fetcher = make_fetcher("comtrade", base_url=fake.install(httpserver))
    with pytest.raises(SourceUnavailable, match="429.*Rate limit is exceeded"):
        fetch_through(fetcher, http_client("comtrade", retries=2), D(2022, 3, 1), D(2022, 3, 31))
    assert len(fake.requests) == 3


def test_wire_503_burst_then_data(httpserver):
    fake = ComtradeFake(DATA).fail(503, count=2, retry_after="1")
    fetcher = make_fetcher("comtrade", base_url=fake.install(httpserver))
    obs, _, _ = fetch_through(fetcher, http_client("comtrade", retries=3), D(2023, 1, 1), D(2023, 1, 31))
    assert [(o.series_id, o.date, o.value) for o in obs] == [(X, D(2023, 1, 1), 8.1e9)]


def test_wire_apim_401_is_rejected(httpserver):
    httpserver.expect_request(PATH).respond_with_data(
        '{"statusCode": 401, "message": "Access denied due to missing subscription key."}', status=401,
        content_type="application/json")
    fetcher = make_fetcher("comtrade", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(SourceRejected, match="401.*missing subscription key"):
        fetch_through(fetcher, http_client("comtrade"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_html_page_with_200(httpserver):
    httpserver.expect_request(PATH).respond_with_data(
        "<!DOCTYPE html><html><body>The service is unavailable.</body></html>", status=200, content_type="text/html")
    fetcher = make_fetcher("comtrade", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="service is unavailable"):
        fetch_through(fetcher, http_client("comtrade"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_truncated_body(httpserver):
    full = body([row("X", "202201", 8.2377e9), row("M", "202201", 1.02e10)])
    httpserver.expect_request(PATH).respond_with_response(
        Response(full[: len(full) // 2], status=200, content_type="application/json"))
    fetcher = make_fetcher("comtrade", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="truncated"):
        fetch_through(fetcher, http_client("comtrade"), D(2022, 1, 1), D(2022, 12, 31))


# -- end to end through the CLI --------------------------------------------------------------------
def test_cli_backfill_then_series_show(httpserver, tmp_path, monkeypatch):
    fake = ComtradeFake(DATA)
    monkeypatch.setenv("STRESSWATCH_SOURCES__COMTRADE__BASE_URL", fake.install(httpserver))
    monkeypatch.setenv("STRESSWATCH_SOURCES__COMTRADE__MIN_INTERVAL", "0")
    db = str(tmp_path / "sw.db")
    out = io.StringIO()
    assert cli.main(["--store", db, "backfill", "--source", "comtrade", "--start", "2021-12-01",
                     "--end", "2023-01-31"], out=out) == 0
    assert [r.args["period"] for r in fake.requests] == [
        "202112", ",".join(f"2022{m:02d}" for m in range(1, 13)), "202301"]
    out = io.StringIO()
    assert cli.main(["--store", db, "series", "show", X, "--format", "json"], out=out) == 0
    assert {r["date"]: r["value"] for r in json.loads(out.getvalue())} == {
        "2021-12-01": 6.8e9, "2022-01-01": 8.2377e9, "2022-02-01": 6.5114e9, "2022-03-01": 5.1e9,
        "2023-01-01": 8.1e9}
