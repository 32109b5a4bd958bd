"""FRED: fredgraph.csv in both layouts, the JSON API with paging, key secrecy, and the wire."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from werkzeug.wrappers import Response

from stresswatch import settings as settings_mod
from stresswatch.errors import ConfigError, ParseError, SourceRejected
from stresswatch.fetchers.base import load_all
from stresswatch.fetchers.fred import (API_KEY_ENV, DEFAULT_SERIES, FredFetcher, FredFormatError,
                                       parse_fredgraph_csv, redacted_display)
from stresswatch.store import Store
from tests.conftest import specimen
from tests.fakes.bis import fetch_through, shared_file
from tests.fakes.fred import FredFake
from tests.fetchers.conftest import http_client, make_fetcher

D = dt.date
KEY = "0123456789abcdef0123456789abcdef"


NEW_CSV = ("observation_date,DCOILBRENTEU\n"
           "2022-03-07,129.02\n2022-03-08,133.18\n2022-03-09,116.58\n2022-04-15,\n2022-04-18,\n2022-04-19,109.51\n")
OLD_CSV = "DATE,DFF\r\n2014-07-03,0.09\r\n2014-07-04,.\r\n2014-07-07,0.09\r\n"


# -- registration, settings, requests --------------------------------------------------------------
def test_registered_with_default_series():
    assert load_all()["fred"] is FredFetcher
    fetcher = make_fetcher("fred")
    assert fetcher.fred_ids == DEFAULT_SERIES == ["DCOILBRENTEU", "DFF"]
    infos = {s.id: s for s in fetcher.series()}
    assert set(infos) == {"fred.DCOILBRENTEU", "fred.DFF"}
    assert infos["fred.DCOILBRENTEU"].unit == "USD per barrel" and infos["fred.DFF"].unit == "percent"
    assert all(s.source == "fred" for s in infos.values())


def test_series_setting_is_validated():
    with pytest.raises(ConfigError, match="FRED series ids"):
        settings_mod.load(environ={}, overrides={"sources.fred.series": ["DGS10; drop"]})
    with pytest.raises(ConfigError):
        settings_mod.load(environ={}, overrides={"sources.fred.api_page_limit": 0})


def test_keyless_requests_one_per_series():
    fetcher = make_fetcher("fred")
    requests = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))
    assert [r.display() for r in requests] == [
        "GET https://fred.stlouisfed.org/graph/fredgraph.csv?id=DCOILBRENTEU&cosd=2022-01-01&coed=2022-12-31",
        "GET https://fred.stlouisfed.org/graph/fredgraph.csv?id=DFF&cosd=2022-01-01&coed=2022-12-31",
    ]
    assert not fetcher.uses_api


def test_api_requests_when_the_key_is_in_the_environment():
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY})
    assert fetcher.uses_api
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    assert request.url == "https://api.stlouisfed.org/fred/series/observations"
    params = dict(request.params)
    assert params == {"series_id": "DCOILBRENTEU", "api_key": KEY, "file_type": "json",
                      "observation_start": "2022-01-01", "observation_end": "2022-12-31",
                      "limit": "100000", "offset": "0"}
    assert KEY not in redacted_display(request) and "api_key=REDACTED" in redacted_display(request)
    assert KEY not in repr(fetcher) and KEY not in request.label and KEY not in str(request.context)


# -- pure CSV parsing ------------------------------------------------------------------------------
def test_new_layout_blank_days_are_not_stored():
    fetcher = make_fetcher("fred", series=["DCOILBRENTEU"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    result = fetcher.parse(NEW_CSV.encode(), request, "text/csv")
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [
        ("fred.DCOILBRENTEU", D(2022, 3, 7), 129.02), ("fred.DCOILBRENTEU", D(2022, 3, 8), 133.18),
        ("fred.DCOILBRENTEU", D(2022, 3, 9), 116.58), ("fred.DCOILBRENTEU", D(2022, 4, 19), 109.51)]
    assert result.warnings == [] and result.follow_up is None


def test_old_layout_dots_are_not_stored():
    fetcher = make_fetcher("fred", series=["DFF"])
    result = fetcher.parse(OLD_CSV.encode(), fetcher.build_requests(D(2014, 1, 1), D(2014, 12, 31))[0])
    assert [(o.date, o.value) for o in result.observations] == [(D(2014, 7, 3), 0.09), (D(2014, 7, 7), 0.09)]


def test_other_columns_are_ignored_and_a_missing_column_is_an_error():
    fetcher = make_fetcher("fred", series=["DFF"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    body = b"observation_date,DFF,DGS10\n2022-03-01,0.08,1.72\n"
    result = fetcher.parse(body, request)
    assert [(o.series_id, o.value) for o in result.observations] == [("fred.DFF", 0.08)]
    assert any("DGS10" in w for w in result.warnings)
    with pytest.raises(ParseError, match="asked for DFF"):
        fetcher.parse(b"observation_date,DGS10\n2022-03-01,1.72\n", request)


@pytest.mark.parametrize("body", [b"", b"\r\n", b"observation_date,DFF\n", b"DATE,DFF\r\n"])
def test_empty_answers_are_empty(body):
    fetcher = make_fetcher("fred", series=["DFF"])
    result = fetcher.parse(body, fetcher.build_requests(D(2030, 1, 1), D(2030, 12, 31))[0])
    assert result.observations == [] and result.follow_up is None


@pytest.mark.parametrize("body, message", [
    (b"<!DOCTYPE html>\n<html lang='en'><head><title>FRED | Error</title></head><body>oops</body></html>", "HTML"),
    (b'{"error_code":400,"error_message":"Bad Request."}', "not a fredgraph CSV"),
    (b"observation_date,DFF\n2022-03-01,n/a%\n", "not a number"),
    (b"observation_date,DFF\n03/01/2022,0.08\n", "not a date"),
    (b"observation_date,DFF\n2022-03-01,0.08\n2022-03-02", "truncated"),
    (b"Series;Value\n", "header"),
])
def test_bad_csv_bodies(body, message):
    fetcher = make_fetcher("fred", series=["DFF"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    with pytest.raises(ParseError, match=message) as info:
        fetcher.parse(body, request)
    assert info.value.source == "fred" and "fredgraph.csv?id=DFF" in info.value.url


# -- real captures ---------------------------------------------------------------------------------
def _capture(name: str):
    return specimen("fred", name)


def test_real_old_layout_daily_with_dots():
    path = _capture("fredgraph_DGS10_daily_2014-2019_oldformat_dot_missing.csv")
    fetcher = make_fetcher("fred", series=["DGS10"])
    result = fetcher.parse(path.read_bytes(), fetcher.build_requests(D(2014, 1, 1), D(2019, 12, 31))[0])
    obs = {o.date: o.value for o in result.observations}
    assert len(obs) == 1304 - 54  # 1304 data rows, 54 holidays written as "."
    assert obs[D(2014, 6, 20)] == 2.63 and obs[D(2019, 6, 19)] == 2.03
    assert obs[D(2014, 7, 3)] == 2.65 and D(2014, 7, 4) not in obs and obs[D(2014, 7, 7)] == 2.63
    assert {o.series_id for o in result.observations} == {"fred.DGS10"}


def test_real_old_layout_multi_series_monthly_averages():
    columns = parse_fredgraph_csv(_capture("fredgraph_DFF_DGS10_DGS3MO_DGS5_monthlyavg_oldformat.csv").read_text())
    assert list(columns) == ["DFF", "DGS10", "DGS3MO", "DGS5"]
    assert columns["DFF"][0] == (D(1979, 8, 1), 10.9361290322580645)
    assert columns["DFF"][-1] == (D(2022, 5, 1), 0.72473684210526315789)
    assert columns["DGS3MO"][0] == (D(1981, 9, 1), 15.6071428571428571)  # "." before the series starts
    assert columns["DGS10"][-1] == (D(2022, 4, 1), 2.7475)  # 2022-05 is "." for DGS10
    assert len(columns["DFF"]) == 514 and len(columns["DGS10"]) == 513


def test_real_new_layout_blank_missing():
    columns = parse_fredgraph_csv(_capture("fredgraph_DGS_curve_daily_newformat_blank_missing_HEAD13.csv").read_text())
    assert len(columns) == 11 and columns["DGS1MO"] == []  # DGS1MO starts in 2001: all blank
    dgs10 = dict(columns["DGS10"])
    assert dgs10[D(2000, 1, 3)] == 6.58 and dgs10[D(2000, 1, 19)] == 6.73
    assert D(2000, 1, 17) not in dgs10  # Martin Luther King day: an all-blank row
    assert len(dgs10) == 12


def test_real_new_layout_monthly():
    path = _capture("fredgraph_FEDFUNDS_MORTGAGE30US_monthly_newformat.csv")
    fetcher = make_fetcher("fred", series=["FEDFUNDS"])
    result = fetcher.parse(path.read_bytes(), fetcher.build_requests(D(1999, 1, 1), D(2025, 12, 31))[0])
    obs = [(o.date, o.value) for o in result.observations]
    assert len(obs) == 312
    assert obs[0] == (D(1999, 12, 1), 5.30) and obs[-1] == (D(2025, 11, 1), 3.88)
    assert any("MORTGAGE30US" in w for w in result.warnings)


# -- pure JSON API parsing -------------------------------------------------------------------------
def _api_page(values, count, offset, limit):
    return json.dumps({
        "realtime_start": "2026-11-28", "realtime_end": "2026-11-28", "count": count, "offset": offset,
        "limit": limit, "file_type": "json",
        "observations": [{"realtime_start": "2026-11-28", "realtime_end": "2026-11-28", "date": d, "value": v}
                         for d, v in values]}).encode()


def test_api_page_strings_dots_and_follow_up():
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY}, series=["DFF"], api_page_limit=2)
    first = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    result = fetcher.parse(_api_page([("2022-03-01", "0.08"), ("2022-03-02", ".")], 3, 0, 2), first)
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [("fred.DFF", D(2022, 3, 1), 0.08)]
    nxt = result.follow_up
    assert nxt is not None and dict(nxt.params)["offset"] == "2" and dict(nxt.params)["limit"] == "2"
    assert dict(nxt.params)["api_key"] == KEY and dict(nxt.params)["observation_end"] == "2022-12-31"
    last = fetcher.parse(_api_page([("2022-03-03", "0.33")], 3, 2, 2), nxt)
    assert [o.value for o in last.observations] == [0.33] and last.follow_up is None


def test_api_error_body_carries_freds_message_without_the_key():
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY}, series=["NOPE"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    body = json.dumps({"error_code": 400, "error_message": f"Bad Request.  The series does not exist. key={KEY}"})
    with pytest.raises(ParseError, match="The series does not exist") as info:
        fetcher.parse(body.encode(), request)
    assert KEY not in str(info.value) and KEY not in info.value.url


@pytest.mark.parametrize("body, message", [
    (b'{"count": 2, "observations": [{"date": "2022-03-01", "val', "truncated"),
    (b'{"count": 1}', "observations"),
    (b'{"observations": [{"date": "2022-03-01", "value": "abc"}]}', "not a number"),
])
def test_api_bad_bodies(body, message):
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY}, series=["DFF"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    with pytest.raises(ParseError, match=message) as info:
        fetcher.parse(body, request)
    assert KEY not in str(info.value)


def test_archived_payload_never_holds_the_key(tmp_path):
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY}, series=["DFF"])
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    with Store.open(tmp_path / "s.db") as store:
        pid = store.payloads.save(source="fred", request=request, status=200, content_type="application/json",
                                  body=_api_page([("2022-03-01", "0.08")], 1, 0, 100000),
                                  fetched_at=dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc), parser_version="1")
        [payload] = list(store.payloads.iter("fred"))
        assert payload.id == pid
        # the archived url, and the archived request as read back from the archive, hold no key
        assert KEY not in payload.url and KEY not in repr(payload.request)
        assert "api_key=REDACTED" in payload.url
    # the archived request still parses (reparse) without the key
    result = fetcher.parse(payload.body, payload.request, payload.content_type)
    assert [(o.date, o.value) for o in result.observations] == [(D(2022, 3, 1), 0.08)]


# -- over the wire ---------------------------------------------------------------------------------
SMALL = {
    "DCOILBRENTEU": {D(2022, 3, 7): 129.02, D(2022, 3, 8): 133.18, D(2022, 4, 15): None, D(2022, 4, 19): 109.51},
    "DFF": {D(2022, 3, 7): 0.08, D(2022, 3, 8): 0.08, D(2022, 3, 17): 0.33},
}


@pytest.mark.parametrize("layout", ["new", "old"])
def test_wire_csv_both_layouts(httpserver, layout):
    fake = FredFake(SMALL, layout=layout)
    fetcher = make_fetcher("fred", base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("fred"), D(2022, 1, 1), D(2022, 12, 31))
    assert sent == 2 and warnings == []
    got = {(o.series_id, o.date): o.value for o in obs}
    assert got[("fred.DCOILBRENTEU", D(2022, 3, 8))] == 133.18
    assert ("fred.DCOILBRENTEU", D(2022, 4, 15)) not in got
    assert got[("fred.DFF", D(2022, 3, 17))] == 0.33 and len(got) == 6
    assert [r.args["id"] for r in fake.requests] == ["DCOILBRENTEU", "DFF"]


def test_wire_empty_window(httpserver):
    fake = FredFake(SMALL)
    fetcher = make_fetcher("fred", base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("fred"), D(2030, 1, 1), D(2030, 12, 31))
    assert obs == [] and warnings == [] and sent == 2


def test_wire_html_with_200(httpserver):
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(
        "<!DOCTYPE html><html><body>We're sorry, FRED is down for maintenance.</body></html>",
        status=200, content_type="text/html")
    fetcher = make_fetcher("fred", series=["DFF"], base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="HTML"):
        fetch_through(fetcher, http_client("fred"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_429_burst_with_retry_after(httpserver):
    fake = FredFake(SMALL).fail(429, count=2, retry_after="1", body=b"Too Many Requests")
    fetcher = make_fetcher("fred", series=["DFF"], base_url=fake.install(httpserver))
    obs, _, sent = fetch_through(fetcher, http_client("fred", retries=3), D(2022, 3, 1), D(2022, 3, 31))
    assert sent == 1 and len(fake.requests) == 3
    assert [(o.date, o.value) for o in obs] == [(D(2022, 3, 7), 0.08), (D(2022, 3, 8), 0.08), (D(2022, 3, 17), 0.33)]


def test_wire_truncated_body(httpserver):
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_response(
        Response("observation_date,DFF,DGS10\n2022-03-01,0.08,1.72\n2022-03-02,0.0", status=200,
                 content_type="text/csv"))
    fetcher = make_fetcher("fred", series=["DFF"], base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="truncated"):
        fetch_through(fetcher, http_client("fred"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_api_paging_with_key(httpserver):
    fake = FredFake(SMALL, api_key=KEY)
    url = fake.install(httpserver)
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY}, api_base_url=url, api_page_limit=2)
    obs, _, sent = fetch_through(fetcher, http_client("fred"), D(2022, 1, 1), D(2022, 12, 31))
    assert sent == 2 + 2  # Brent: 4 rows (one ".") in 2 pages; DFF: 3 rows in 2 pages
    assert [r.args["offset"] for r in fake.requests] == ["0", "2", "0", "2"]
    got = {(o.series_id, o.date): o.value for o in obs}
    assert got[("fred.DCOILBRENTEU", D(2022, 3, 8))] == 133.18 and ("fred.DCOILBRENTEU", D(2022, 4, 15)) not in got
    assert len(got) == 6


def test_wire_api_wrong_key_is_rejected_without_leaking_it(httpserver):
    fake = FredFake(SMALL, api_key="another-key")
    fetcher = make_fetcher("fred", environ={API_KEY_ENV: KEY}, series=["DFF"], api_base_url=fake.install(httpserver))
    with pytest.raises(SourceRejected, match="api_key is not registered") as info:
        fetch_through(fetcher, http_client("fred"), D(2022, 1, 1), D(2022, 12, 31))
    assert KEY not in str(info.value) and KEY not in info.value.url and "REDACTED" in info.value.url


def test_real_brent_history_replay(httpserver):
    path = shared_file("data", "real", "oil", "fred_DCOILBRENTEU_daily_1987_2025.csv")
    if path is None:
        pytest.skip("../shared/data/real/oil is not present")
    fake = FredFake.from_csv(path, "DCOILBRENTEU")
    fetcher = make_fetcher("fred", series=["DCOILBRENTEU"], base_url=fake.install(httpserver))
    obs, _, _ = fetch_through(fetcher, http_client("fred"), D(2022, 1, 1), D(2022, 12, 31))
    got = {o.date: o.value for o in obs}
    assert got[D(2022, 3, 8)] == 133.18
    assert D(2022, 4, 15) not in got and D(2022, 12, 26) not in got  # blank days in the file
    assert len(got) == sum(1 for d, v in fake.data["DCOILBRENTEU"].items() if d.year == 2022 and v is not None)


def test_pure_csv_parser_raises_its_own_error_on_a_short_row():
    with pytest.raises(FredFormatError, match="line 3 has 1 fields"):
        parse_fredgraph_csv("observation_date,DFF\n2022-03-01,0.08\n2022-03-02\n")
