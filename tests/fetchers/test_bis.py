"""BIS WS_CBPOL: request building, SDMX-CSV and csv_flat parsing, and the wire against a local replay."""

from __future__ import annotations

import datetime as dt

import pytest
from werkzeug.wrappers import Response

from stresswatch import settings as settings_mod
from stresswatch.errors import ConfigError, ParseError, SourceUnavailable
from stresswatch.fetchers.base import REGISTRY, load_all
from stresswatch.fetchers.bis import (ACCEPT_CSV, DEFAULT_AREAS, BisFetcher, LayoutError, parse_csv_flat,
                                      parse_rows, parse_sdmx_csv)
from tests.conftest import specimen
from tests.fakes.bis import BisFake, fetch_through, shared_file
from tests.fetchers.conftest import http_client, make_fetcher

D = dt.date


SDMX_CSV = (
    "DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\r\n"
    "BIS:WS_CBPOL(1.0),D,RU,2022-02-25,9.5\r\n"
    "BIS:WS_CBPOL(1.0),D,RU,2022-02-28,20\r\n"
    "BIS:WS_CBPOL(1.0),D,RU,2022-03-01,NaN\r\n"
    "BIS:WS_CBPOL(1.0),D,US,2022-02-28,0.125\r\n"
    "BIS:WS_CBPOL(1.0),D,US,2022-03-01,\r\n"
    "BIS:WS_CBPOL(1.0),D,US,2022-03-17,0.375\r\n"
)


# -- registration, settings, requests --------------------------------------------------------------
def test_registered_with_its_settings_and_series():
    assert load_all()["bis"] is BisFetcher and REGISTRY["bis"] is BisFetcher
    fetcher = make_fetcher("bis")
    assert fetcher.areas == DEFAULT_AREAS
    assert [s.id for s in fetcher.series()][:3] == ["bis.cbpol.RU", "bis.cbpol.US", "bis.cbpol.XM"]
    info = fetcher.series()[0]
    assert (info.source, info.unit, info.frequency) == ("bis", "percent", "D")
    assert 0 < info.publication_lag_days <= 7


def test_area_setting_is_validated():
    with pytest.raises(ConfigError, match="upper-case two-character"):
        settings_mod.load(environ={}, overrides={"sources.bis.areas": ["ru"]})
    with pytest.raises(ConfigError, match="at least one"):
        settings_mod.load(environ={}, overrides={"sources.bis.areas": []})
    values = settings_mod.load(environ={"STRESSWATCH_SOURCES__BIS__AREAS": "RU,CN"})
    assert values.source("bis")["areas"] == ["RU", "CN"]


def test_build_requests_is_one_sdmx_query_with_csv_accept():
    fetcher = make_fetcher("bis", areas=["RU", "US", "XM"], base_url="https://example.test/")
    [request] = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))
    assert request.method == "GET"
    assert request.url == "https://example.test/api/v1/data/WS_CBPOL/D.RU+US+XM/all"
    assert dict(request.params) == {"startPeriod": "2022-01-01", "endPeriod": "2022-12-31", "detail": "dataonly"}
    assert dict(request.headers) == {"Accept": ACCEPT_CSV}
    assert request.display() == ("GET https://example.test/api/v1/data/WS_CBPOL/D.RU+US+XM/all"
                                 "?startPeriod=2022-01-01&endPeriod=2022-12-31&detail=dataonly")
    assert make_fetcher("bis").build_requests(D(2022, 1, 1), D(2022, 1, 2))[0].url.startswith(
        "https://stats.bis.org/api/v1/data/WS_CBPOL/D.RU+US+XM+CN+JP+GB+TR+BR+IN+ZA+MX+KR+ID+SA/all")


# -- pure parsing ----------------------------------------------------------------------------------
def test_parse_sdmx_csv_values_and_gaps():
    fetcher = make_fetcher("bis", areas=["RU", "US"])
    [request] = fetcher.build_requests(D(2022, 2, 1), D(2022, 3, 31))
    result = fetcher.parse(SDMX_CSV.encode(), request, "application/vnd.sdmx.data+csv")
    got = {(o.series_id, o.date): o.value for o in result.observations}
    assert got == {
        ("bis.cbpol.RU", D(2022, 2, 25)): 9.5,
        ("bis.cbpol.RU", D(2022, 2, 28)): 20.0,
        ("bis.cbpol.US", D(2022, 2, 28)): 0.125,
        ("bis.cbpol.US", D(2022, 3, 17)): 0.375,
    }
    assert result.warnings == [] and result.follow_up is None


def test_parse_with_attribute_columns_and_quoted_commas():
    text = ('DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE,UNIT_MEASURE,TITLE,OBS_STATUS\n'
            'BIS:WS_CBPOL(1.0),D,TR,2023-06-23,15,368,"Policy rate, Turkey - ""one-week repo""",A\n'
            'BIS:WS_CBPOL(1.0),D,TR,2023-06-26,15,368,"Policy rate, Turkey",A\n')
    fetcher = make_fetcher("bis", areas=["TR"])
    result = fetcher.parse(text.encode(), fetcher.build_requests(D(2023, 1, 1), D(2023, 12, 31))[0])
    assert [(o.date, o.value) for o in result.observations] == [(D(2023, 6, 23), 15.0), (D(2023, 6, 26), 15.0)]


def test_area_without_rows_and_unasked_area_are_reported():
    fetcher = make_fetcher("bis", areas=["RU", "US", "KZ"])
    request = fetcher.build_requests(D(2022, 2, 1), D(2022, 3, 31))[0]
    body = SDMX_CSV + "BIS:WS_CBPOL(1.0),D,CN,2022-02-28,3.7\r\n"
    result = fetcher.parse(body.encode(), request)
    assert len(result.observations) == 4
    assert any("KZ" in w and "re-versioned" in w for w in result.warnings)
    assert any("CN (1)" in w for w in result.warnings)
    assert not any("bis.cbpol.CN" == o.series_id for o in result.observations)


def test_nan_only_area_is_not_reported_missing():
    fetcher = make_fetcher("bis", areas=["RU"])
    body = "DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\nBIS:WS_CBPOL(1.0),D,RU,2022-05-02,NaN\n"
    result = fetcher.parse(body.encode(), fetcher.build_requests(D(2022, 5, 1), D(2022, 5, 31))[0])
    assert result.observations == [] and result.warnings == []


@pytest.mark.parametrize("body", [b"", b"\n", b"DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\r\n",
                                  b"\xef\xbb\xbfDATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\n"])
def test_empty_answers_are_empty_not_errors(body):
    fetcher = make_fetcher("bis", areas=["RU"])
    result = fetcher.parse(body, fetcher.build_requests(D(2030, 1, 1), D(2030, 1, 31))[0])
    assert result.observations == [] and result.follow_up is None
    assert result.warnings and "RU" in result.warnings[0]


@pytest.mark.parametrize("body, message", [
    (b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Back soon</body></html>", "HTML"),
    (b'{"errors":[{"code":404,"message":"NoResultsFound: no data for query"}]}', "NoResultsFound"),
    (b'<?xml version="1.0"?><message:Error><message:Text>Syntax error</message:Text></message:Error>',
     "XML"),
    (b"FREQ,TIME,VALUE\nD,2022-01-03,1\n", "REF_AREA/TIME_PERIOD/OBS_VALUE"),
    (b"DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\nBIS:WS_CBPOL(1.0),D,RU,2022-02-28,twenty\n", "not a number"),
    (b"DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\nBIS:WS_CBPOL(1.0),D,RU,28.02.2022,20\n", "TIME_PERIOD"),
])
def test_bad_bodies_raise_parse_error_naming_source_and_url(body, message):
    fetcher = make_fetcher("bis", areas=["RU"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    with pytest.raises(ParseError, match=message) as info:
        fetcher.parse(body, request)
    assert info.value.source == "bis"
    assert info.value.url == request.display()


@pytest.mark.parametrize("cut", [len(SDMX_CSV) - 12, SDMX_CSV.index("D,US,2022-02-28") + 3])
def test_truncated_body_is_a_parse_error(cut):
    fetcher = make_fetcher("bis", areas=["RU", "US"])
    with pytest.raises(ParseError, match="truncated"):
        fetcher.parse(SDMX_CSV[:cut].encode(), fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0])


def test_unterminated_quote_is_a_parse_error():
    body = ('DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE,TITLE\n'
            'BIS:WS_CBPOL(1.0),D,RU,2022-02-28,20,"Policy rate, Rus')
    fetcher = make_fetcher("bis", areas=["RU"])
    with pytest.raises(ParseError, match="truncated"):
        fetcher.parse(body.encode(), fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0])


def test_layouts_are_told_apart():
    flat = ("STRUCTURE,STRUCTURE_ID,ACTION,FREQ:Frequency,REF_AREA:Reference area,"
            "TIME_PERIOD:Time period or range,OBS_VALUE:Observation Value\n"
            "dataflow,BIS:WS_CBPOL(1.0): Central bank policy rates,I,D: Daily,RU: Russia,2022-02-28,20\n")
    assert parse_rows(flat)[0] == "flat"
    assert parse_rows(SDMX_CSV)[0] == "sdmx"
    assert [(r.area, r.value) for r in parse_csv_flat(flat)] == [("RU", 20.0)]
    with pytest.raises(LayoutError):
        parse_csv_flat(SDMX_CSV)
    with pytest.raises(LayoutError):
        parse_sdmx_csv(flat)


def test_real_csv_flat_capture():
    path = specimen("bis", "WS_CBPOL_csv_flat_AR_M_GB_D_sample.csv")
    rows = parse_csv_flat(path.read_text(encoding="utf-8"))
    monthly = [r for r in rows if r.freq == "M"]
    daily = [r for r in rows if r.freq == "D"]
    assert len(monthly) == 14 and len(daily) == 16
    assert {r.area for r in monthly} == {"AR"} and {r.area for r in daily} == {"GB"}
    assert (monthly[0].period, monthly[0].date, monthly[0].value) == ("1993-04", D(1993, 4, 1), 0.63)
    assert (monthly[1].period, monthly[1].value) == ("1993-05", 0.11)
    assert (monthly[-1].period, monthly[-1].value) == ("1994-05", 0.81)
    assert (daily[0].date, daily[-1].date) == (D(2009, 9, 8), D(2009, 9, 29))
    assert all(r.value == 0.5 for r in daily)
    assert all(r.date.weekday() < 5 for r in daily)  # daily series skip weekends

    # the same bytes through the fetcher: auto-detected, daily GB rows only, AR (monthly) ignored
    fetcher = make_fetcher("bis", areas=["GB"])
    result = fetcher.parse(path.read_bytes(), fetcher.build_requests(D(2009, 1, 1), D(2009, 12, 31))[0])
    assert [o.series_id for o in result.observations] == ["bis.cbpol.GB"] * 16
    assert result.observations[3].date == D(2009, 9, 11) and result.observations[3].value == 0.5


# -- over the wire ---------------------------------------------------------------------------------
SMALL = {
    "RU": {D(2022, 2, 24): 9.5, D(2022, 2, 25): 9.5, D(2022, 2, 28): 20.0, D(2022, 3, 1): 20.0},
    "US": {D(2022, 2, 25): 0.125, D(2022, 2, 28): 0.125, D(2022, 3, 1): None, D(2022, 3, 17): 0.375},
    "CN": {D(2022, 2, 28): 3.7},
}


def test_wire_round_trip_with_attributes(httpserver):
    fake = BisFake(SMALL, attributes=True)
    fetcher = make_fetcher("bis", areas=["RU", "US"], base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("bis"), D(2022, 2, 25), D(2022, 3, 31))
    assert sent == 1 and warnings == []
    assert {(o.series_id, o.date): o.value for o in obs} == {
        ("bis.cbpol.RU", D(2022, 2, 25)): 9.5, ("bis.cbpol.RU", D(2022, 2, 28)): 20.0,
        ("bis.cbpol.RU", D(2022, 3, 1)): 20.0, ("bis.cbpol.US", D(2022, 2, 25)): 0.125,
        ("bis.cbpol.US", D(2022, 2, 28)): 0.125, ("bis.cbpol.US", D(2022, 3, 17)): 0.375,
    }
    [seen] = fake.requests
    assert seen.path == "/api/v1/data/WS_CBPOL/D.RU+US/all"
    assert seen.headers["Accept"] == ACCEPT_CSV
    assert seen.args["detail"] == "dataonly"


def test_wire_empty_window(httpserver):
    fake = BisFake(SMALL)
    fetcher = make_fetcher("bis", areas=["RU", "US"], base_url=fake.install(httpserver))
    obs, warnings, _ = fetch_through(fetcher, http_client("bis"), D(2030, 1, 1), D(2030, 1, 31))
    assert obs == []
    assert len(warnings) == 1 and "RU, US" in warnings[0]


def test_wire_html_page_with_200(httpserver):
    httpserver.expect_request("/api/v1/data/WS_CBPOL/D.RU/all").respond_with_data(
        "<html><head><title>Just a moment...</title></head><body>checking your browser</body></html>",
        status=200, content_type="text/html")
    fetcher = make_fetcher("bis", areas=["RU"], base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="HTML"):
        fetch_through(fetcher, http_client("bis"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_503_burst_with_retry_after_then_data(httpserver):
    fake = BisFake(SMALL).fail(503, count=2, retry_after="1")
    fetcher = make_fetcher("bis", areas=["RU"], base_url=fake.install(httpserver))
    obs, _, sent = fetch_through(fetcher, http_client("bis", retries=3), D(2022, 2, 28), D(2022, 2, 28))
    assert sent == 1 and len(fake.requests) == 3  # two 503s retried inside the client
    assert [(o.date, o.value) for o in obs] == [(D(2022, 2, 28), 20.0)]


def test_wire_429_that_never_ends_is_source_unavailable(httpserver):
    fake = BisFake(SMALL).fail(429, count=None, retry_after="2", body=b"Too Many Requests")
    fetcher = make_fetcher("bis", areas=["RU"], base_url=fake.install(httpserver))
    with pytest.raises(SourceUnavailable, match="429"):
        fetch_through(fetcher, http_client("bis", retries=2), D(2022, 2, 28), D(2022, 2, 28))
    assert len(fake.requests) == 3


def test_wire_truncated_body(httpserver):
    cut = SDMX_CSV[:SDMX_CSV.index("D,US,2022-02-28") + 6]
    httpserver.expect_request("/api/v1/data/WS_CBPOL/D.RU+US/all").respond_with_response(
        Response(cut, status=200, content_type="application/vnd.sdmx.data+csv"))
    fetcher = make_fetcher("bis", areas=["RU", "US"], base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="truncated"):
        fetch_through(fetcher, http_client("bis"), D(2022, 1, 1), D(2022, 12, 31))


def test_real_history_replay_gives_the_known_rates(httpserver):
    path = shared_file("data", "real", "rates", "bis_WS_CBPOL_D_csv_col.csv")
    if path is None:
        pytest.skip("../shared/data/real/rates is not present")
    fake = BisFake.from_wide_csv(path, areas=["RU", "US", "XM"], start=D(2022, 1, 1), end=D(2022, 12, 31))
    fetcher = make_fetcher("bis", areas=["RU", "US", "XM"], base_url=fake.install(httpserver))
    obs, warnings, _ = fetch_through(fetcher, http_client("bis"), D(2022, 1, 1), D(2022, 12, 31))
    got = {(o.series_id, o.date): o.value for o in obs}
    assert got[("bis.cbpol.RU", D(2022, 2, 25))] == 9.5
    assert got[("bis.cbpol.RU", D(2022, 2, 28))] == 20.0
    assert got[("bis.cbpol.US", D(2022, 3, 1))] == 0.125
    assert got[("bis.cbpol.XM", D(2022, 3, 1))] == 0.0
    assert warnings == []
    assert max(d for s, d in got if s == "bis.cbpol.RU") == D(2022, 4, 18)
