"""MOEX ISS index history: request building, block/cursor parsing, paging, and the wire."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from werkzeug.wrappers import Response

from stresswatch import settings as settings_mod
from stresswatch.errors import ConfigError, ParseError, SourceUnavailable
from stresswatch.fetchers.base import load_all
from stresswatch.fetchers.moex import MoexFetcher
from tests.fakes.bis import fetch_through, shared_file
from tests.fakes.moex import MoexFake
from tests.fetchers.conftest import http_client, make_fetcher

D = dt.date


def page(rows, index=0, total=None, pagesize=100, columns=("BOARDID", "SECID", "TRADEDATE", "CLOSE", "OPEN")):
    body = {"history": {"columns": list(columns), "data": [list(r) for r in rows]},
            "history.cursor": {"columns": ["INDEX", "TOTAL", "PAGESIZE"],
                               "data": [[index, len(rows) if total is None else total, pagesize]]}}
    return json.dumps(body, ensure_ascii=False).encode()


def test_registered_settings_series_and_request():
    assert load_all()["moex"] is MoexFetcher
    fetcher = make_fetcher("moex")
    assert [s.id for s in fetcher.series()] == ["moex.index.IMOEX"]
    assert fetcher.series()[0].unit == "index points"
    [request] = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))
    assert request.display() == ("GET https://iss.moex.com/iss/history/engines/stock/markets/index/securities/"
                                 "IMOEX.json?from=2022-01-01&till=2022-12-31&start=0")
    two = make_fetcher("moex", securities=["IMOEX", "RTSI"]).build_requests(D(2022, 1, 1), D(2022, 1, 31))
    assert [r.url.rsplit("/", 1)[1] for r in two] == ["IMOEX.json", "RTSI.json"]
    with pytest.raises(ConfigError, match="SECIDs"):
        settings_mod.load(environ={}, overrides={"sources.moex.securities": ["imoex"]})


def test_parse_close_per_tradedate_and_follow_up():
    fetcher = make_fetcher("moex")
    first = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    body = page([["SNDX", "IMOEX", "2022-02-22", 3052.88, 3000.1], ["SNDX", "IMOEX", "2022-02-24", 2058.12, 2900.0],
                 ["SNDX", "IMOEX", "2022-02-25", None, None]], index=0, total=5, pagesize=3)
    result = fetcher.parse(body, first, "application/json")
    assert [(o.series_id, o.date, o.value) for o in result.observations] == [
        ("moex.index.IMOEX", D(2022, 2, 22), 3052.88), ("moex.index.IMOEX", D(2022, 2, 24), 2058.12)]
    nxt = result.follow_up
    assert nxt is not None and dict(nxt.params) == {"from": "2022-01-01", "till": "2022-12-31", "start": "3"}
    last = fetcher.parse(page([["SNDX", "IMOEX", "2022-03-24", 2578.51, 2500.0]], index=3, total=4, pagesize=3), nxt)
    assert [o.value for o in last.observations] == [2578.51] and last.follow_up is None


def test_duplicate_day_from_two_boards_keeps_one_and_warns():
    fetcher = make_fetcher("moex")
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    body = page([["SNDX", "IMOEX", "2022-03-24", 2578.51, 1], ["RTSI", "IMOEX", "2022-03-24", 2578.0, 1],
                 ["SNDX", "RTSI", "2022-03-24", 1.0, 1]])
    result = fetcher.parse(body, request)
    assert [(o.date, o.value) for o in result.observations] == [(D(2022, 3, 24), 2578.51)]
    assert len(result.warnings) == 1 and "two closes" in result.warnings[0]


@pytest.mark.parametrize("body", [
    b"",
    page([]),
    page([], index=0, total=0),
    json.dumps({"history": {"columns": ["TRADEDATE", "CLOSE"], "data": []}}).encode(),
])
def test_empty_answers(body):
    fetcher = make_fetcher("moex")
    result = fetcher.parse(body, fetcher.build_requests(D(2030, 1, 1), D(2030, 1, 31))[0])
    assert result.observations == [] and result.follow_up is None and result.warnings == []


@pytest.mark.parametrize("body, message", [
    (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "HTML"),
    (page([["SNDX", "IMOEX", "2022-02-24", 2058.12, 1]])[:-40], "truncated"),
    (b'{"marketdata": {"columns": [], "data": []}}', "no 'history' block"),
    (page([["SNDX", "IMOEX", "24.02.2022", 2058.12, 1]]), "not a date"),
    (page([["SNDX", "IMOEX", "2022-02-24", "abc", 1]]), "not a number"),
    (page([["SNDX", "IMOEX", "2022-02-24", 2058.12]]), "does not match"),
    (page([["SNDX", "IMOEX", "2022-02-24"]], columns=("BOARDID", "SECID", "TRADEDATE")), "TRADEDATE/CLOSE"),
    (b'[1, 2]', "not an object"),
])
def test_bad_bodies(body, message):
    fetcher = make_fetcher("moex")
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    with pytest.raises(ParseError, match=message) as info:
        fetcher.parse(body, request)
    assert info.value.source == "moex" and "IMOEX.json" in info.value.url


def test_cursor_with_zero_pagesize_does_not_loop():
    fetcher = make_fetcher("moex")
    request = fetcher.build_requests(D(2022, 1, 1), D(2022, 12, 31))[0]
    result = fetcher.parse(page([["SNDX", "IMOEX", "2022-02-24", 2058.12, 1]], total=50, pagesize=0), request)
    assert result.follow_up is None and len(result.observations) == 1


# -- over the wire ---------------------------------------------------------------------------------
SMALL = {"IMOEX": {D(2022, 2, 21) + dt.timedelta(days=i): 3000.0 + i for i in range(7)} | {D(2022, 2, 24): 2058.12},
         "RTSI": {D(2022, 2, 24): 742.91}}


def test_wire_paging_by_cursor(httpserver):
    fake = MoexFake(SMALL, page_size=3)
    fetcher = make_fetcher("moex", securities=["IMOEX", "RTSI"], base_url=fake.install(httpserver))
    obs, warnings, sent = fetch_through(fetcher, http_client("moex"), D(2022, 1, 1), D(2022, 12, 31))
    assert sent == 3 + 1 and warnings == []
    assert [r.args["start"] for r in fake.requests] == ["0", "3", "6", "0"]
    got = {(o.series_id, o.date): o.value for o in obs}
    assert len(got) == 8
    assert got[("moex.index.IMOEX", D(2022, 2, 24))] == 2058.12
    assert got[("moex.index.IMOEX", D(2022, 2, 27))] == 3006.0
    assert got[("moex.index.RTSI", D(2022, 2, 24))] == 742.91


def test_wire_empty_and_unknown_security(httpserver):
    fake = MoexFake(SMALL)
    fetcher = make_fetcher("moex", securities=["IMOEX", "NOSUCH"], base_url=fake.install(httpserver))
    obs, _, sent = fetch_through(fetcher, http_client("moex"), D(2030, 1, 1), D(2030, 12, 31))
    assert obs == [] and sent == 2


def test_wire_html_with_200(httpserver):
    httpserver.expect_request("/iss/history/engines/stock/markets/index/securities/IMOEX.json").respond_with_data(
        "<!DOCTYPE html><html><body>Доступ ограничен</body></html>", status=200, content_type="text/html")
    fetcher = make_fetcher("moex", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="HTML"):
        fetch_through(fetcher, http_client("moex"), D(2022, 1, 1), D(2022, 12, 31))


def test_wire_503_burst_then_data_and_endless_503(httpserver):
    fake = MoexFake(SMALL).fail(503, count=2, retry_after="1")
    fetcher = make_fetcher("moex", base_url=fake.install(httpserver))
    obs, _, _ = fetch_through(fetcher, http_client("moex", retries=3), D(2022, 2, 24), D(2022, 2, 24))
    assert [(o.date, o.value) for o in obs] == [(D(2022, 2, 24), 2058.12)] and len(fake.requests) == 3
    fake.fail(503, count=None)
    with pytest.raises(SourceUnavailable, match="503"):
        fetch_through(fetcher, http_client("moex", retries=1), D(2022, 2, 24), D(2022, 2, 24))


def test_wire_truncated_body(httpserver):
    body = page([["SNDX", "IMOEX", "2022-02-24", 2058.12, 1]])
    httpserver.expect_request("/iss/history/engines/stock/markets/index/securities/IMOEX.json").respond_with_response(
        Response(body[: len(body) // 2], status=200, content_type="application/json"))
    fetcher = make_fetcher("moex", base_url=httpserver.url_for("/").rstrip("/"))
    with pytest.raises(ParseError, match="truncated"):
        fetch_through(fetcher, http_client("moex"), D(2022, 1, 1), D(2022, 12, 31))


def test_real_imoex_history_replay(httpserver):
    path = shared_file("data", "real", "markets", "moex_IMOEX_daily_1997_2026.csv")
    if path is None:
        pytest.skip("../shared/data/real/markets is not present")
    fake = MoexFake.from_iss_csv(path, "IMOEX", page_size=100)
    fetcher = make_fetcher("moex", base_url=fake.install(httpserver))
    obs, _, sent = fetch_through(fetcher, http_client("moex"), D(2022, 1, 1), D(2022, 12, 31))
    got = {o.date: o.value for o in obs}
    assert got[D(2022, 2, 24)] == 2058.12
    assert not any(D(2022, 2, 26) <= d <= D(2022, 3, 23) for d in got)  # exchange closed
    assert sent == len(fake.requests) == -(-len(got) // 100)
