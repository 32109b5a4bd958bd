"""IMF IMTS: request building, SDMX-JSON 2.0 decoding, the real captures, the wire, and the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from werkzeug.wrappers import Response

from stresswatch import cli
from stresswatch import settings as settings_mod
from stresswatch.errors import ParseError, SourceRejected
from stresswatch.fetchers.base import REGISTRY, load_all
from stresswatch.fetchers.imf import ACCEPT, ImfFetcher, decode_sdmx_json, period_start
from tests.conftest import specimen
from tests.fakes.bis import fetch_through
from tests.fakes.imf import ImfFake
from tests.fetchers.conftest import http_client, make_fetcher

D = dt.date
X, M = "imf.imts.CHN_RUS.XG_FOB_USD", "imf.imts.CHN_RUS.MG_CIF_USD"


def message(series: dict, periods: list[str], dims=("CHN",), indicators=("XG_FOB_USD", "MG_CIF_USD")) -> bytes:
    """A hand-written SDMX-JSON 2.0 data message in api.imf.org's shape."""
    return json.dumps({"meta": {}, "data": {"dataSets": [{"structure": 0, "action": "Replace", "series": series}],
                       "structures": [{"dimensions": {
                           "series": [{"id": "COUNTRY", "values": [{"id": d} for d in dims]},
                                      {"id": "INDICATOR", "values": [{"id": i} for i in indicators]},
                                      {"id": "COUNTERPART_COUNTRY", "values": [{"id": "RUS"}]},
                                      {"id": "FREQUENCY", "values": [{"id": "M"}]}],
                           "observation": [{"id": "TIME_PERIOD", "values": [{"value": p} for p in periods]}]}}]}}
                      ).encode()


SMALL = message({
    "0:0:0:0": {"attributes": [0], "observations": {"0": ["8237700000", None, 0], "1": ["6511400000", None, 0],
                                                   "2": [None, None, 0]}},
    "0:1:0:0": {"attributes": [0], "observations": {"1": ["10271000000.5", None, 0], "2": ["NaN", None, 0]}},
}, ["2022-M01", "2022-M02", "2022-M03"])


def request_2022() -> tuple[ImfFetcher, object]:
    fetcher = make_fetcher("imf")
    return fetcher, fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]


# -- registration, settings, requests --------------------------------------------------------------
def test_registered_with_settings_series_and_politeness():
    assert load_all()["imf"] is ImfFetcher and REGISTRY["imf"].window == "year"
    conf = settings_mod.load(environ={}).source("imf")
    assert conf["min_interval"] == 1.0 and conf["indicators"] == ["XG_FOB_USD", "MG_CIF_USD"]
    infos = {s.id: s for s in ImfFetcher(conf).series()}
    assert set(infos) == {X, M}
    assert infos[X].unit == "USD" and infos[X].frequency == "M" and infos[X].publication_lag_days == 75


def test_build_requests_is_one_sdmx3_query_with_time_filter_and_json_accept():
    fetcher, request = request_2022()
    assert request.url == ("https://api.imf.org/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/"
                           "CHN.XG_FOB_USD+MG_CIF_USD.RUS.M")
    assert dict(request.params) == {"c[TIME_PERIOD]": "ge:2022-M01+le:2022-M12"}
    assert dict(request.headers)["Accept"] == ACCEPT == "application/vnd.sdmx.data+json;version=2.0.0"
    assert "c%5BTIME_PERIOD%5D=ge%3A2022-M01%2Ble%3A2022-M12" in request.display()
    assert fetcher.build_requests(D(2023, 3, 15), D(2023, 5, 2))[0].params == (
        ("c[TIME_PERIOD]", "ge:2023-M03+le:2023-M05"),)
    assert fetcher.build_requests(D(2023, 5, 2), D(2023, 3, 1)) == []


def test_base_url_and_indicators_are_configurable():
    fetcher = make_fetcher("imf", base_url="http://127.0.0.1:9/", indicators=["TBG_USD"])
    [request] = fetcher.build_requests(D(2022, 1, 1), D(2022, 1, 31))
    assert request.url == "http://127.0.0.1:9/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.TBG_USD.RUS.M"
    assert [s.id for s in fetcher.series()] == ["imf.imts.CHN_RUS.TBG_USD"]


# -- parsing ---------------------------------------------------------------------------------------
def test_parse_values_dates_and_gaps():
    fetcher, request = request_2022()
    result = fetcher.parse(SMALL, request, "application/json")
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [
        (M, D(2022, 2, 1), 10271000000.5),
        (X, D(2022, 1, 1), 8237700000.0), (X, D(2022, 2, 1), 6511400000.0),
    ]
    assert result.warnings == [] and result.candidates == [] and result.follow_up is None


def test_unconfigured_series_are_ignored_with_a_warning():
    fetcher, request = request_2022()
    body = message({"0:0:0:0": {"observations": {"0": ["1", None]}},
                    "1:0:0:0": {"observations": {"0": ["2", None]}}}, ["2022-M01"], dims=("CHN", "USA"))
    result = fetcher.parse(body, request)
    assert [(o.series_id, o.value) for o in result.observations] == [(X, 1.0)]
    assert len(result.warnings) == 1 and "USA.XG_FOB_USD.RUS.M" in result.warnings[0]


@pytest.mark.parametrize("body", [b"", b"   \n"])
def test_no_content_is_empty_not_an_error(body):
    fetcher, request = request_2022()
    result = fetcher.parse(body, request, "")
    assert result.observations == [] and "empty" in result.warnings[0]


def test_dataset_without_series_is_empty():
    fetcher, request = request_2022()
    body = json.dumps({"meta": {}, "data": {"dataSets": [{"structure": 0, "action": "Replace"}],
                                            "structures": [{"dimensions": {"series": [], "observation": []}}]}})
    assert fetcher.parse(body.encode(), request).observations == []


@pytest.mark.parametrize("body, text", [
    (b'{"code": 400, "message": "Invalid key: CHN.XG.RUS", "correlationId": "ab12", "path": "/x"}',
     "IMF error: Invalid key: CHN.XG.RUS"),
    (b'{"errors": [{"code": 404, "title": "No Results Found"}]}', "No Results Found"),
    (b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>", "Service Unavailable"),
    (b'{"meta": {}}', "not an SDMX-JSON data message"),
])
def test_error_bodies_raise_parse_error_with_the_message(body, text):
    fetcher, request = request_2022()
    with pytest.raises(ParseError) as info:
        fetcher.parse(body, request, "application/json")
    assert text in str(info.value) and info.value.source == "imf" and "IMTS" in info.value.url


@pytest.mark.parametrize("cut", [10, 200, len(SMALL) - 3])
def test_truncated_body_is_a_parse_error(cut):
    fetcher, request = request_2022()
    with pytest.raises(ParseError, match="truncated"):
        fetcher.parse(SMALL[:cut], request)


def test_index_pointing_nowhere_is_a_parse_error():
    fetcher, request = request_2022()
    body = message({"0:0:0:0": {"observations": {"7": ["1", None]}}}, ["2022-M01"])
    with pytest.raises(ParseError, match="points to no TIME_PERIOD"):
        fetcher.parse(body, request)
    body = message({"0:5:0:0": {"observations": {"0": ["1", None]}}}, ["2022-M01"])
    with pytest.raises(ParseError, match="not in dimension INDICATOR"):
        fetcher.parse(body, request)


@pytest.mark.parametrize("period, day", [("2024-M01", D(2024, 1, 1)), ("2024-M12", D(2024, 12, 1)),
                                         ("2024-07", D(2024, 7, 1)), ("2024-Q3", D(2024, 7, 1)),
                                         ("2024", D(2024, 1, 1)), ("2024-A1", D(2024, 1, 1)),
                                         ("2024-S2", D(2024, 7, 1))])
def test_period_start(period, day):
    assert period_start(period) == day


@pytest.mark.parametrize("period", ["2024-M13", "2024-W05", "24-M01", ""])
def test_bad_periods_are_refused(period):
    with pytest.raises(ValueError):
        period_start(period)


# -- real captures ---------------------------------------------------------------------------------
def test_real_whdreo_capture_decodes_every_observation():
    path = specimen("imf", "apiimf_sdmx3_data_WHDREO_GX1213.BCA_GDP_BP6.A.json")
    obs = list(decode_sdmx_json(json.loads(path.read_bytes())))
    assert len(obs) == 55
    assert {tuple(o.key.items()) for o in obs} == {
        (("COUNTRY", "GX1213"), ("INDICATOR", "BCA_GDP_BP6"), ("FREQUENCY", "A"))}
    by_year = {period_start(o.period): float(o.value) for o in obs}
    assert by_year[D(1976, 1, 1)] == -7.436 and by_year[D(2004, 1, 1)] == -3.492
    assert by_year[D(2020, 1, 1)] == 1.035 and by_year[D(2030, 1, 1)] == -1.802
    # a valid message for another dataflow: the IMTS fetcher keeps nothing and says why
    fetcher, request = request_2022()
    result = fetcher.parse(path.read_bytes(), request, "application/json")
    assert result.observations == [] and "GX1213.BCA_GDP_BP6.A" in result.warnings[0]


def test_real_gfs_capture_null_values_are_gaps():
    path = specimen("imf", "apiimf_sdmx3_data_GFS_SOO_ABW.S13.G2M.G23_T.POGDP_PT.A.json")
    obs = list(decode_sdmx_json(json.loads(path.read_bytes())))
    assert [o.period for o in obs] == ["1972", "1973", "1974", "1975", "1976"]
    assert all(o.value is None for o in obs)
    assert obs[0].key["TYPE_OF_TRANSFORMATION"] == "POGDP_PT" and len(obs[0].key) == 6


def test_real_no_series_capture_is_empty():
    path = specimen("imf", "apiimf_sdmx3_data_WHDREO_wildcard_M_no_series.json")
    fetcher, request = request_2022()
    assert list(decode_sdmx_json(json.loads(path.read_bytes()))) == []
    result = fetcher.parse(path.read_bytes(), request, "application/json")
    assert result.observations == [] and result.warnings == []


def test_real_204_recording_is_empty():
    path = specimen("imf", "apiimf_sdmx3_structure_dataflow_unknown_204_recorded_wrapper.json")
    recording = json.loads(path.read_text())
    assert recording["status_code"] == 204
    fetcher, request = request_2022()
    assert fetcher.parse(recording["text"].encode(), request, recording["headers"].get("Content-Type", "")
                         ).observations == []


# -- over the wire ---------------------------------------------------------------------------------
DATA = {
    ("CHN", "XG_FOB_USD", "RUS"): {D(2021, 12, 1): 6.8e9, D(2022, 1, 1): 8.2377e9, D(2022, 2, 1): 6.5114e9,
                                   D(2022, 3, 1): 5.1e9, D(2023, 1, 1): 8.1e9},
    ("CHN", "MG_CIF_USD", "RUS"): {D(2022, 1, 1): 1.02e10, D(2022, 2, 1): None, D(2022, 3, 1): 8.8e9},
    ("CHN", "XG_FOB_USD", "USA"): {D(2022, 1, 1): 5.0e10},
}


def test_wire_round_trip(httpserver):
    fake = ImfFake(DATA)
    fetcher = make_fetcher("imf", base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("imf"), D(2022, 1, 1), D(2022, 12, 31))
    assert sent == 1 and warnings == []
    assert {(o.series_id, o.date): o.value for o in obs} == {
        (X, D(2022, 1, 1)): 8.2377e9, (X, D(2022, 2, 1)): 6.5114e9, (X, D(2022, 3, 1)): 5.1e9,
        (M, D(2022, 1, 1)): 1.02e10, (M, D(2022, 3, 1)): 8.8e9,
    }
    [seen] = fake.requests
    assert seen.path == "/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.XG_FOB_USD+MG_CIF_USD.RUS.M"
    assert seen.args["c[TIME_PERIOD]"] == "ge:2022-M01+le:2022-M12"
    assert seen.headers["Accept"] == ACCEPT
    assert seen.headers["User-Agent"].startswith("stresswatch/")


def test_wire_empty_window_and_unknown_dataflow(httpserver):
    fake = ImfFake(DATA)
    fetcher = make_fetcher("imf", base_url=fake.install(httpserver))
    assert fetch_through(fetcher, http_client("imf"), D(2030, 1, 1), D(2030, 12, 31))[:2] == ([], [])
    fake.dataflows = set()  # api.imf.org: unknown dataflow -> 204, empty body
    obs, warnings, _ = fetch_through(fetcher, http_client("imf"), D(2022, 1, 1), D(2022, 12, 31))
    assert obs == [] and "empty" in warnings[0]


def test_wire_error_json_is_rejected_with_the_message(httpserver):
    fake = ImfFake(DATA)
    fetcher = make_fetcher("imf", base_url=fake.install(httpserver), reporter="CHINA")
    with pytest.raises(SourceRejected, match="CHINA is not in codelist CL_COUNTRY"):
        fetch_through(fetcher, http_client("imf"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_html_page_with_200(httpserver):
    httpserver.expect_request("/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.XG_FOB_USD+MG_CIF_USD.RUS.M"
                              ).respond_with_data("<html><body>Request Rejected</body></html>", status=200,
                                                  content_type="text/html")
    fetcher = make_fetcher("imf", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="Request Rejected"):
        fetch_through(fetcher, http_client("imf"), D(2022, 1, 1), D(2022, 12, 31))


@pytest.mark.parametrize("status", [429, 503])
def test_wire_burst_with_retry_after_then_data(httpserver, status):
    fake = ImfFake(DATA).fail(status, count=2, retry_after="1")
    fetcher = make_fetcher("imf", base_url=fake.install(httpserver))
    obs, _, sent = fetch_through(fetcher, http_client("imf", retries=3), D(2022, 3, 1), D(2022, 3, 31))
    assert sent == 1 and len(fake.requests) == 3
    assert sorted((o.series_id, o.value) for o in obs) == [(M, 8.8e9), (X, 5.1e9)]


def test_wire_truncated_body(httpserver):
    httpserver.expect_request("/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.XG_FOB_USD+MG_CIF_USD.RUS.M"
                              ).respond_with_response(Response(SMALL[:-40], status=200,
                                                               content_type="application/json"))
    fetcher = make_fetcher("imf", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="truncated"):
        fetch_through(fetcher, http_client("imf"), D(2022, 1, 1), D(2022, 12, 31))


# -- end to end through the CLI --------------------------------------------------------------------
def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def test_cli_backfill_then_series_show(httpserver, tmp_path, monkeypatch):
    fake = ImfFake(DATA)
    monkeypatch.setenv("STRESSWATCH_SOURCES__IMF__BASE_URL", fake.install(httpserver))
    monkeypatch.setenv("STRESSWATCH_SOURCES__IMF__MIN_INTERVAL", "0")
    db = str(tmp_path / "sw.db")
    code, _ = run_cli("--store", db, "backfill", "--source", "imf", "--start", "2021-12-01", "--end", "2023-01-31")
    assert code == 0
    assert len(fake.requests) == 3  # one per calendar year: 2021, 2022, 2023
    code, text = run_cli("--store", db, "series", "show", X, "--format", "json")
    assert code == 0
    rows = {r["date"]: r["value"] for r in json.loads(text)}
    assert rows == {"2021-12-01": 6.8e9, "2022-01-01": 8.2377e9, "2022-02-01": 6.5114e9, "2022-03-01": 5.1e9,
                    "2023-01-01": 8.1e9}
    code, text = run_cli("--store", db, "series", "show", M, "--format", "json")
    assert {r["date"]: r["value"] for r in json.loads(text)} == {"2022-01-01": 1.02e10, "2022-03-01": 8.8e9}
