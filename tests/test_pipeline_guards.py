"""The pipeline against hostile sources (issue 14 items 1-4, 6 and the network half of 11), each
through the real pipeline, a real store and a real local server:

1. a trickling body fails its partition within the deadline, the row is not left running;
2. a 200 MB answer is refused at the cap and archived once, as metadata without its body;
3. a redirect to another host (the SOAP POST on 307 included) asks nothing of it, stores nothing;
   a redirect on the source's host is followed and the archive records the final URL and chain;
4. a body that breaks a parser fails its source alone: `fetch` goes on to the next sources, no
   row stays running, `reparse` reports the payload and goes on;
6. an empty answer for a window that must hold business days fails and is asked again; a window
   of holidays and the documented "no data" answers (IMF, Comtrade) stay complete;
11. a read timeout does not start the unreachable cooldown; MOEX paging ends.
"""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
import requests
from werkzeug import Response

from stresswatch import pipeline
from stresswatch.clock import system_clock
from stresswatch.store import Store
from tests.conftest import run_cli, settings_for
from tests.fakes.cbr import FakeCbr, synthetic_history
from tests.fakes.fred import FredFake
from tests.fakes.hostile import HostileServer, flood, trickle
from tests.fakes.moex import MoexFake

D = dt.date


def only(settings, *ids):
    for source in settings.source_ids:
        settings.source(source)["enabled"] = source in ids
    return settings


def usd_only(tmp_path, url: str, **overrides):
    return only(settings_for(tmp_path, **{"sources.cbr.base_url": url, "sources.cbr.currencies": ["USD"],
                                          "sources.cbr.keyrate": False, **overrides}), "cbr")


def statuses(store: Store, job: str = "fetch:cbr") -> list[str]:
    return [r["status"] for r in store.ledger.rows(job)]


# -- 1 -------------------------------------------------------------------------------------------
def test_a_trickling_source_fails_its_partition_within_the_deadline(tmp_path):
    with HostileServer(trickle(b"<ValCurs>" + b" " * 5000 + b"</ValCurs>", every=0.05)) as server:
        settings = usd_only(tmp_path, server.base_url, **{"sources.cbr.timeout": 0.5, "http.retries": 1})
        with Store.open(settings.store_path) as store:
            report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 12, 31), progress=False)
            assert [o.status for o in report.outcomes] == ["failed"]
            assert "no complete answer within 0.5 s" in report.outcomes[0].error
            assert not report.outcomes[0].unreachable
            assert statuses(store) == ["failed"]
    # two attempts (the first and one more), each cut at its deadline
    assert len(server.connections) == 2 and all(c.sent < 60 for c in server.connections)


# -- 2 -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("declare_length", [True, False])
def test_a_huge_answer_is_refused_at_the_cap_and_archived_once_without_its_body(tmp_path, declare_length):
    with HostileServer(flood(200 * 1024 * 1024, declare_length=declare_length)) as server:
        settings = usd_only(tmp_path, server.base_url, **{"sources.cbr.max_body_mb": 1.0})
        with Store.open(settings.store_path) as store:
            for _ in range(2):  # asked again on a rerun: still one archived record
                report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 12, 31), reprocess="all",
                                           progress=False)
                assert [o.status for o in report.outcomes] == ["failed"]
                assert "max_body_mb = 1" in report.outcomes[0].error and report.outcomes[0].requests == 0
            (payload,) = list(store.payloads.iter("cbr"))
            assert payload.body == b"" and payload.truncated
            assert payload.meta["limit_bytes"] == 1024 * 1024
            assert payload.meta["declared_bytes"] == (200 * 1024 * 1024 if declare_length else None)
            (rep,) = pipeline.reparse(store, settings, "cbr")
            assert rep.truncated == 1 and rep.unparseable == 0
    assert len(server.connections) == 2  # once per run: a refusal is not retried within the run
    assert (tmp_path / "sw.db").stat().st_size < 2 * 1024 * 1024


# -- 3 -------------------------------------------------------------------------------------------
def test_a_redirect_to_another_host_is_refused_and_nothing_of_it_stored(tmp_path, httpserver):
    hist = synthetic_history(D(2023, 1, 1), D(2023, 12, 31), isos=("USD",))
    with FakeCbr(hist) as evil:
        def to_evil(request):
            return Response("", status=307, headers={"Location": evil.base_url + request.full_path})

        httpserver.expect_request("/scripts/XML_dynamic.asp").respond_with_handler(to_evil)
        httpserver.expect_request("/DailyInfoWebServ/DailyInfo.asmx", method="POST").respond_with_handler(to_evil)
        settings = only(settings_for(tmp_path, **{"sources.cbr.base_url": httpserver.url_for("").rstrip("/"),
                                                  "sources.cbr.currencies": ["USD"]}), "cbr")
        with Store.open(settings.store_path) as store:
            report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 12, 31), progress=False)
            assert [o.status for o in report.outcomes] == ["failed"]
            assert "another host" in report.outcomes[0].error
            assert store.observations.list_series("cbr") == [] or \
                all(s["count"] == 0 for s in store.observations.list_series("cbr"))
            assert list(store.payloads.iter("cbr")) == []
        assert evil.count() == 0, "the other host was asked"


def test_a_redirect_on_the_source_host_is_followed_and_archived_with_its_chain(tmp_path, httpserver):
    hist = synthetic_history(D(2023, 1, 1), D(2023, 3, 31), isos=("USD",))
    with FakeCbr(hist) as real:
        httpserver.expect_request("/old/scripts/XML_dynamic.asp").respond_with_handler(
            lambda r: Response("", status=301, headers={"Location": r.full_path.replace("/old/", "/new/", 1)}))
        httpserver.expect_request("/new/scripts/XML_dynamic.asp").respond_with_handler(
            lambda r: Response(requests.get(real.base_url + r.full_path[4:], timeout=10).content,
                               content_type="text/xml"))
        settings = usd_only(tmp_path, httpserver.url_for("/old"))
        with Store.open(settings.store_path) as store:
            report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 3, 31), progress=False)
            assert report.ok, report.summary()
            (payload,) = list(store.payloads.iter("cbr"))
            assert payload.meta["redirects"][0].startswith("301 " + httpserver.url_for("/new/scripts/XML_dynamic.asp"))
            assert payload.meta["final_url"].startswith(httpserver.url_for("/new/scripts/XML_dynamic.asp"))
            assert payload.meta["span"] == ["2023-01-01", "2023-03-31"]
            assert len(store.observations.read_series("cbr.fx.USD")) == len(hist.per_unit("USD"))


# -- 4 -------------------------------------------------------------------------------------------
def test_a_body_that_breaks_a_parser_fails_only_its_source(tmp_path, monkeypatch, httpserver):
    imf_bad = json.dumps({"data": {"dataSets": ["x"], "structures": []}})
    comtrade_bad = json.dumps({"count": 1, "data": [[156, 643, "X", "M", "202301", 9.9e9]], "error": ""})
    httpserver.expect_request("/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.XG_FOB_USD+MG_CIF_USD.RUS.M") \
        .respond_with_data(imf_bad, content_type="application/json")
    httpserver.expect_request("/public/v1/preview/C/M/HS").respond_with_data(comtrade_bad,
                                                                           content_type="application/json")
    fred = FredFake({"DCOILBRENTEU": {D(2023, 1, 3): 82.1}, "DFF": {D(2023, 1, 3): 4.33}})
    moex = MoexFake({"IMOEX": {D(2023, 1, 3): 2154.12}})
    url = fred.install(httpserver)
    moex.install(httpserver)
    env = {"STRESSWATCH_STORE__PATH": str(tmp_path / "sw.db"), "STRESSWATCH_HTTP__BACKOFF_FACTOR": "0",
           "STRESSWATCH_HTTP__RETRIES": "0"}
    for source in ("IMF", "COMTRADE", "FRED", "MOEX"):
        env[f"STRESSWATCH_SOURCES__{source}__BASE_URL"] = url
        env[f"STRESSWATCH_SOURCES__{source}__MIN_INTERVAL"] = "0"
        env[f"STRESSWATCH_SOURCES__{source}__HISTORY_START"] = "2023-01-01"
    code, text = run_cli(monkeypatch, env, "fetch", "--date", "2023-01-31", "--source", "imf", "--source", "comtrade",
                         "--source", "moex", "--source", "fred", "--format", "json")
    assert code == 1
    summary = {r["source"]: r for r in json.loads(text)}
    assert summary["imf"]["failed"] == 1 and "dataSets[0] is a string" in summary["imf"]["error"]
    assert summary["comtrade"]["failed"] == 1 and "row 0 is a list" in summary["comtrade"]["error"]
    assert summary["moex"]["success"] == 1 and summary["fred"]["success"] == 1  # asked after the failures
    with Store.open(tmp_path / "sw.db") as store:
        assert not [r for r in store.ledger.rows() if r["status"] == "running"]
        assert store.observations.read_series("moex.index.IMOEX").tolist() == [2154.12]
    code, text = run_cli(monkeypatch, env, "reparse", "--format", "json")
    assert code == 0
    rows = {r["source"]: r for r in json.loads(text)}
    assert rows["imf"]["unparseable"] == 1 and rows["comtrade"]["unparseable"] == 1
    assert rows["moex"]["parsed"] == 1 and rows["moex"]["rows"] == 1  # went on after them


def test_an_unexpected_error_fails_the_partition_and_the_next_source_goes_on(tmp_path, httpserver):
    # a store that cannot take one source's series: a bug-like failure, not a typed one
    fred = FredFake({"DCOILBRENTEU": {D(2023, 1, 3): 82.1}, "DFF": {D(2023, 1, 3): 4.33}})
    moex = MoexFake({"IMOEX": {D(2023, 1, 3): 2154.12}})
    url = fred.install(httpserver)
    moex.install(httpserver)
    settings = only(settings_for(tmp_path, **{"sources.fred.base_url": url, "sources.moex.base_url": url,
                                              "http.retries": 0}), "fred", "moex")
    with Store.open(settings.store_path) as store:
        broken = pipeline.make_fetcher(settings, "fred")
        broken.build_requests = lambda start, end: 1 / 0  # type: ignore[method-assign]
        report = pipeline._run(store, settings, [(broken, pipeline.plan(broken, D(2023, 1, 1), D(2023, 1, 31))),
                                                 (pipeline.make_fetcher(settings, "moex"),
                                                  pipeline.plan(broken, D(2023, 1, 1), D(2023, 1, 31)))],
                               False, None, False, 1.0, system_clock)
        assert [(o.source, o.status) for o in report.outcomes] == [("fred", "failed"), ("moex", "success")]
        assert "unexpected error: ZeroDivisionError" in report.outcomes[0].error
        assert statuses(store, "fetch:fred") == ["failed"]


# -- 6 -------------------------------------------------------------------------------------------
def test_an_empty_answer_for_business_days_fails_and_is_asked_again(tmp_path):
    hist = synthetic_history(D(2022, 1, 1), D(2023, 12, 31), isos=("USD",))
    with FakeCbr(hist) as fake:
        fake.inject("dynamic", "empty", times=None)
        settings = usd_only(tmp_path, fake.base_url)
        with Store.open(settings.store_path) as store:
            report = pipeline.backfill(store, settings, D(2022, 1, 1), D(2023, 12, 31), progress=False)
            assert [o.status for o in report.outcomes] == ["failed", "failed"]
            assert "cbr.fx.USD: no values for 2022-01-01..2022-12-31 (published since 1992-07-01)" in \
                report.outcomes[0].error
            assert statuses(store) == ["failed", "failed"]
            fake.clear_faults()
            asked = fake.count()
            report = pipeline.backfill(store, settings, D(2022, 1, 1), D(2023, 12, 31), progress=False)
            assert report.ok and fake.count() - asked == 2  # both years asked again, now complete
            assert len(store.observations.read_series("cbr.fx.USD")) == len(hist.per_unit("USD"))


def test_a_window_of_holidays_after_stored_rates_is_complete_though_empty(tmp_path):
    hist = synthetic_history(D(2023, 12, 1), D(2023, 12, 30), isos=("USD",))
    with FakeCbr(hist) as fake:
        settings = usd_only(tmp_path, fake.base_url)
        with Store.open(settings.store_path) as store:
            assert pipeline.backfill(store, settings, D(2023, 12, 1), D(2023, 12, 31), progress=False).ok
            report = pipeline.backfill(store, settings, D(2024, 1, 1), D(2024, 1, 8), progress=False)
            assert report.ok, report.summary()  # the New Year holidays: nothing published, nothing missing


def test_an_empty_answer_of_a_series_the_store_holds_fails_then_a_late_one_passes(tmp_path, httpserver):
    fred = FredFake({"DCOILBRENTEU": {D(2023, 1, 3) + dt.timedelta(days=i): 80.0 + i for i in range(20)}})
    url = fred.install(httpserver)
    settings = only(settings_for(tmp_path, **{"sources.fred.base_url": url, "sources.fred.series": ["DCOILBRENTEU"]}),
                    "fred")
    with Store.open(settings.store_path) as store:
        assert pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 1, 31), progress=False).ok
        report = pipeline.backfill(store, settings, D(2023, 6, 1), D(2023, 6, 30), progress=False)  # served empty
        assert [o.status for o in report.outcomes] == ["failed"]
        assert "fred.DCOILBRENTEU: no values for 2023-06-01..2023-06-30 (last stored 2023-01-22)" in \
            report.outcomes[0].error


def test_documented_no_data_answers_stay_complete(tmp_path, httpserver):
    httpserver.expect_request("/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.XG_FOB_USD+MG_CIF_USD.RUS.M") \
        .respond_with_data(json.dumps({"data": {"dataSets": [{"structure": 0}], "structures": []}}),
                           content_type="application/json")
    httpserver.expect_request("/public/v1/preview/C/M/HS").respond_with_data(
        json.dumps({"count": 0, "data": [], "error": ""}), content_type="application/json")
    url = httpserver.url_for("").rstrip("/")
    settings = only(settings_for(tmp_path, **{"sources.imf.base_url": url, "sources.comtrade.base_url": url}),
                    "imf", "comtrade")
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 12, 31), progress=False)
        assert report.ok and [o.status for o in report.outcomes] == ["success", "success"]


# -- 11 ------------------------------------------------------------------------------------------
def test_a_read_timeout_fails_without_starting_the_cooldown(tmp_path, httpserver):
    def slow(request):
        time.sleep(1.0)
        return Response("late")

    httpserver.expect_request("/scripts/XML_dynamic.asp").respond_with_handler(slow)
    settings = usd_only(tmp_path, httpserver.url_for("").rstrip("/"),
                        **{"sources.cbr.timeout": 0.3, "http.retries": 0, "sources.cbr.history_start": "2023-01-01"})
    with Store.open(settings.store_path) as store:
        first = pipeline.fetch(store, settings, D(2023, 3, 31))
        assert [o.status for o in first.outcomes] == ["failed"] and not first.outcomes[0].unreachable
        assert pipeline.cooldown(store, settings, "cbr") is None
        again = pipeline.fetch(store, settings, D(2023, 3, 31))
        assert [o.status for o in again.outcomes] == ["failed"]  # asked again: no cooldown
        assert store.ledger.get("fetch:cbr", "2023-01-01..2023-12-31")["attempts"] == 2


def test_a_moex_cursor_that_echoes_its_start_ends_the_paging(tmp_path, httpserver):
    page = {"history": {"columns": ["BOARDID", "SECID", "TRADEDATE", "CLOSE"],
                        "data": [["SNDX", "IMOEX", "2023-01-03", 2154.12]]},
            "history.cursor": {"columns": ["INDEX", "TOTAL", "PAGESIZE"], "data": [[0, 100000, 100]]}}

    def echo(request):  # ignores `start`, says there is more, forever
        body = json.loads(json.dumps(page))
        body["history.cursor"]["data"][0][0] = int(request.args.get("start", "0"))
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/iss/history/engines/stock/markets/index/securities/IMOEX.json").respond_with_handler(echo)
    settings = only(settings_for(tmp_path, **{"sources.moex.base_url": httpserver.url_for("").rstrip("/"),
                                              "http.retries": 0}), "moex")
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 12, 31), progress=False)
        assert [o.status for o in report.outcomes] == ["failed"]
        assert "brings no new trading day" in report.outcomes[0].error
    assert len(moex_requests(httpserver)) == 2  # the first page and the one that repeated it


def test_paging_that_never_ends_stops_at_max_pages(tmp_path, httpserver):
    def fresh_every_time(request):  # a new day on every page and a cursor that always says "more"
        start = int(request.args.get("start", "0"))
        day = D(2023, 1, 2) + dt.timedelta(days=start // 100)
        return Response(json.dumps({
            "history": {"columns": ["SECID", "TRADEDATE", "CLOSE"], "data": [["IMOEX", day.isoformat(), 2000.0]]},
            "history.cursor": {"columns": ["INDEX", "TOTAL", "PAGESIZE"], "data": [[start, 10 ** 9, 100]]}}),
            content_type="application/json")

    httpserver.expect_request("/iss/history/engines/stock/markets/index/securities/IMOEX.json") \
        .respond_with_handler(fresh_every_time)
    settings = only(settings_for(tmp_path, **{"sources.moex.base_url": httpserver.url_for("").rstrip("/"),
                                              "http.retries": 0, "http.max_pages": 7}), "moex")
    with Store.open(settings.store_path) as store:
        report = pipeline.backfill(store, settings, D(2023, 1, 1), D(2023, 12, 31), progress=False)
        assert [o.status for o in report.outcomes] == ["failed"]
        assert "more than 7 pages" in report.outcomes[0].error and report.outcomes[0].requests == 7
        assert store.observations.list_series("moex") == [] or \
            all(s["count"] == 0 for s in store.observations.list_series("moex"))
    assert len(moex_requests(httpserver)) == 7


def moex_requests(httpserver) -> list:
    return [r for r, _ in httpserver.log if r.path.endswith("/IMOEX.json")]
