"""Plausibility (issue 14 item 5): each implausible value the issue lists, served by a real local
server in the source's wire format, goes through the real pipeline into the quarantine -- never
into the observations -- and `stresswatch status` shows it; the values around it are stored.
Then the rules file itself: the shipped one loads, a broken one is a ConfigError naming the rule."""

from __future__ import annotations

import datetime as dt
import json
import math

import pytest

from stresswatch import pipeline, plausibility
from stresswatch.errors import ConfigError
from stresswatch.fetchers.base import Observation
from stresswatch.store import Store
from tests.conftest import run_cli, settings_for
from tests.fakes.comtrade import ComtradeFake
from tests.fakes.imf import ImfFake

D = dt.date
YEAR = (D(2023, 1, 1), D(2023, 12, 31))


def only(settings, *ids):
    for source in settings.source_ids:
        settings.source(source)["enabled"] = source in ids
    return settings


def backfill(tmp_path, source: str, url: str, **overrides):
    settings = only(settings_for(tmp_path, **{f"sources.{source}.base_url": url, "http.retries": 0, **overrides}),
                    source)
    store = Store.open(settings.store_path)
    report = pipeline.backfill(store, settings, *YEAR, progress=False)
    return store, report


def stored(store: Store, series_id: str) -> dict[dt.date, float]:
    return {d.date(): v for d, v in store.observations.read_series(series_id).items()}


def quarantined(store: Store, series_id: str) -> dict[dt.date, tuple[str, str]]:
    return {D.fromisoformat(r["date"]): (r["value"], r["reason"]) for r in store.quarantine.rows()
            if r["series_id"] == series_id}


def cp1251(text: str) -> bytes:
    return ('<?xml version="1.0" encoding="windows-1251"?>' + text).encode("cp1251")


def record(day: str, value: str) -> str:
    return f'<Record Date="{day}" Id="R01235"><Nominal>1</Nominal><Value>{value}</Value></Record>'


# ---------------------------------------------------------------------------------------------
# Bank of Russia: 2099-01-01, 1E+300, 0.0001, a 2015 record in a 2023 answer; the key rate in 2099
# ---------------------------------------------------------------------------------------------
def test_cbr_implausible_rates_and_dates_are_quarantined(tmp_path, httpserver):
    dynamic = cp1251('<ValCurs ID="R01235" DateRange1="01.01.2023" DateRange2="31.12.2023" name="x">'
                     + record("10.01.2023", "70,0000") + record("11.01.2023", "1E+300")
                     + record("12.01.2023", "0,0001") + record("13.01.2023", "71,0000")
                     + record("15.06.2015", "60,0000") + record("01.01.2099", "72,0000") + "</ValCurs>")
    keyrate = ('<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
               'envelope/"><soap:Body><KeyRateXMLResponse xmlns="http://web.cbr.ru/"><KeyRateXMLResult>'
               '<KeyRate xmlns=""><KR><DT>2099-01-01T00:00:00+03:00</DT><Rate>7.50</Rate></KR>'
               '<KR><DT>2023-01-10T00:00:00+03:00</DT><Rate>7.50</Rate></KR></KeyRate></KeyRateXMLResult>'
               '</KeyRateXMLResponse></soap:Body></soap:Envelope>').encode()
    httpserver.expect_request("/scripts/XML_dynamic.asp").respond_with_data(dynamic, content_type="text/xml")
    httpserver.expect_request("/DailyInfoWebServ/DailyInfo.asmx", method="POST").respond_with_data(
        keyrate, content_type="text/xml")
    store, report = backfill(tmp_path, "cbr", httpserver.url_for("").rstrip("/"),
                             **{"sources.cbr.currencies": ["USD"]})
    with store:
        assert [o.status for o in report.outcomes] == ["success"] and report.outcomes[0].quarantined == 5
        assert stored(store, "cbr.fx.USD") == {D(2023, 1, 10): 70.0, D(2023, 1, 13): 71.0}
        bad = quarantined(store, "cbr.fx.USD")
        assert set(bad) == {D(2023, 1, 11), D(2023, 1, 12), D(2015, 6, 15), D(2099, 1, 1)}
        assert bad[D(2023, 1, 11)][0] == "1e+300" and "is above" in bad[D(2023, 1, 11)][1]
        assert "beyond a factor 3" in bad[D(2023, 1, 12)][1]  # 0.0001 after 70.0 (and below USD's 0.05)
        assert "before the window asked for" in bad[D(2015, 6, 15)][1]  # not a "revision" of 2015
        assert "after" in bad[D(2099, 1, 1)][1]
        assert stored(store, "cbr.keyrate") == {D(2023, 1, 10): 7.5}
        assert set(quarantined(store, "cbr.keyrate")) == {D(2099, 1, 1)}


def test_a_jump_against_the_last_stored_value_is_quarantined(tmp_path, httpserver):
    # KZT has only the generic cbr.fx.* rule: the range allows 0.0001, the factor-3 jump does not
    body = cp1251('<ValCurs ID="R01335" DateRange1="01.01.2023" DateRange2="31.12.2023" name="x">'
                  + "".join(f'<Record Date="{d}.01.2023" Id="R01335"><Nominal>100</Nominal><Value>{v}</Value>'
                            "</Record>" for d, v in (("10", "16,0000"), ("11", "16,1000"), ("12", "0,0100"),
                                                     ("13", "16,2000")))
                  + "</ValCurs>")
    httpserver.expect_request("/scripts/XML_dynamic.asp").respond_with_data(body, content_type="text/xml")
    store, _ = backfill(tmp_path, "cbr", httpserver.url_for("").rstrip("/"),
                        **{"sources.cbr.currencies": ["KZT"], "sources.cbr.keyrate": False})
    with store:
        assert stored(store, "cbr.fx.KZT") == {D(2023, 1, 10): 0.16, D(2023, 1, 11): 0.161, D(2023, 1, 13): 0.162}
        (reason,) = [r for _, r in quarantined(store, "cbr.fx.KZT").values()]
        assert "beyond a factor 3" in reason and "0.161 on 2023-01-11" in reason


# ---------------------------------------------------------------------------------------------
# FRED: 2999-12-31, -37.63, 0, 1e308
# ---------------------------------------------------------------------------------------------
def test_fred_implausible_values_and_dates_are_quarantined(tmp_path, httpserver):
    csv = ("observation_date,DCOILBRENTEU\n2023-01-03,82.1\n2023-01-04,-37.63\n2023-01-05,0\n"
           "2023-01-06,1e308\n2023-01-09,80.0\n2999-12-31,81.0\n")
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(csv, content_type="text/csv")
    store, report = backfill(tmp_path, "fred", httpserver.url_for("").rstrip("/"),
                             **{"sources.fred.series": ["DCOILBRENTEU"]})
    with store:
        assert report.outcomes[0].status == "success"
        assert stored(store, "fred.DCOILBRENTEU") == {D(2023, 1, 3): 82.1, D(2023, 1, 9): 80.0}
        bad = quarantined(store, "fred.DCOILBRENTEU")
        assert set(bad) == {D(2023, 1, 4), D(2023, 1, 5), D(2023, 1, 6), D(2999, 12, 31)}
        assert "not positive" in bad[D(2023, 1, 4)][1] and "not positive" in bad[D(2023, 1, 5)][1]
        assert bad[D(2023, 1, 6)][0] == "1e+308" and "is above" in bad[D(2023, 1, 6)][1]


# ---------------------------------------------------------------------------------------------
# BIS: 2099, -8.5, 0, 1e300
# ---------------------------------------------------------------------------------------------
def test_bis_implausible_rates_and_dates_are_quarantined(tmp_path, httpserver):
    csv = ("DATAFLOW,FREQ,REF_AREA,TIME_PERIOD,OBS_VALUE\n"
           + "".join(f"BIS:WS_CBPOL(1.0),D,RU,{d},{v}\n" for d, v in (
               ("2023-01-02", "7.5"), ("2023-01-03", "-8.5"), ("2023-01-04", "0"), ("2023-01-05", "1e300"),
               ("2023-01-06", "7.5"), ("2099-01-01", "7.5"))))
    httpserver.expect_request("/api/v1/data/WS_CBPOL/D.RU/all").respond_with_data(
        csv, content_type="application/vnd.sdmx.data+csv")
    store, _ = backfill(tmp_path, "bis", httpserver.url_for("").rstrip("/"), **{"sources.bis.areas": ["RU"]})
    with store:
        assert stored(store, "bis.cbpol.RU") == {D(2023, 1, 2): 7.5, D(2023, 1, 6): 7.5}
        bad = quarantined(store, "bis.cbpol.RU")
        assert set(bad) == {D(2023, 1, 3), D(2023, 1, 4), D(2023, 1, 5), D(2099, 1, 1)}
        assert "below -5" in bad[D(2023, 1, 3)][1] and "not positive" in bad[D(2023, 1, 4)][1]
        assert "above" in bad[D(2023, 1, 5)][1]


# ---------------------------------------------------------------------------------------------
# IMF: -8.4e9 and 1e999 (inf); Comtrade: 1e999
# ---------------------------------------------------------------------------------------------
def test_imf_negative_and_infinite_values_are_quarantined(tmp_path, httpserver):
    key = ("CHN", "XG_FOB_USD", "RUS")
    message = ImfFake.message({key: {D(2023, 1, 1): 8.0e9, D(2023, 2, 1): -8.4e9, D(2023, 3, 1): 1.0,
                                     D(2023, 4, 1): 9.0e9}})
    observations = message["data"]["dataSets"][0]["series"]["0:0:0:0"]["observations"]
    observations["2"][0] = "1e999"  # as the attack sent it: a finite-looking string that is inf
    httpserver.expect_request(
        "/external/sdmx/3.0/data/dataflow/IMF.STA/IMTS/+/CHN.XG_FOB_USD.RUS.M").respond_with_data(
        json.dumps(message), content_type="application/json")
    store, _ = backfill(tmp_path, "imf", httpserver.url_for("").rstrip("/"),
                        **{"sources.imf.indicators": ["XG_FOB_USD"]})
    with store:
        series = "imf.imts.CHN_RUS.XG_FOB_USD"
        assert stored(store, series) == {D(2023, 1, 1): 8.0e9, D(2023, 4, 1): 9.0e9}
        bad = quarantined(store, series)
        assert bad[D(2023, 2, 1)][0] == "-8400000000.0" and "not positive" in bad[D(2023, 2, 1)][1]
        assert bad[D(2023, 3, 1)][0] == "inf" and "not a finite number" in bad[D(2023, 3, 1)][1]


def test_comtrade_infinite_value_is_quarantined(tmp_path, httpserver):
    rows = [ComtradeFake.row(156, 643, "X", D(2023, m, 1), 9.0e9 + m) for m in (1, 2, 3)]
    body = json.dumps({"elapsedTime": "0.05 secs", "count": 3, "data": rows, "error": ""})
    body = body.replace(f'"primaryValue": {json.dumps(9.0e9 + 2)}', '"primaryValue": 1e999')  # JSON's inf
    assert math.isinf(json.loads(body)["data"][1]["primaryValue"])
    httpserver.expect_request("/public/v1/preview/C/M/HS").respond_with_data(body, content_type="application/json")
    store, _ = backfill(tmp_path, "comtrade", httpserver.url_for("").rstrip("/"), **{"sources.comtrade.flows": ["X"]})
    with store:
        assert stored(store, "comtrade.CHN_RUS.X") == {D(2023, 1, 1): 9.0e9 + 1, D(2023, 3, 1): 9.0e9 + 3}
        assert quarantined(store, "comtrade.CHN_RUS.X")[D(2023, 2, 1)][0] == "inf"


# ---------------------------------------------------------------------------------------------
# status shows them; reparse judges the archive again
# ---------------------------------------------------------------------------------------------
def test_status_lists_the_quarantine_and_reparse_keeps_it(tmp_path, httpserver, monkeypatch):
    csv = "observation_date,DCOILBRENTEU\n2023-01-03,82.1\n2023-01-04,-37.63\n2999-12-31,81.0\n"
    httpserver.expect_request("/graph/fredgraph.csv").respond_with_data(csv, content_type="text/csv")
    store, _ = backfill(tmp_path, "fred", httpserver.url_for("").rstrip("/"),
                        **{"sources.fred.series": ["DCOILBRENTEU"]})
    store.close()
    env = {"STRESSWATCH_STORE__PATH": str(tmp_path / "sw.db")}
    code, text = run_cli(monkeypatch, env, "status", "--format", "json")
    assert code == 0
    block = json.loads(text)["quarantine"]
    assert block["count"] == 2 and block["by_series"][0]["series"] == "fred.DCOILBRENTEU"
    assert {r["date"]: r["value"] for r in block["latest"]} == {"2023-01-04": "-37.63", "2999-12-31": "81.0"}
    code, table = run_cli(monkeypatch, env, "status")
    assert "quarantine (2 value(s)" in table and "-37.63" in table
    code, _ = run_cli(monkeypatch, env, "reparse", "--source", "fred")
    assert code == 0
    with Store.open(tmp_path / "sw.db") as store:
        assert stored(store, "fred.DCOILBRENTEU") == {D(2023, 1, 3): 82.1}
        assert len(store.quarantine.rows()) == 2  # rebuilt, not doubled


# ---------------------------------------------------------------------------------------------
# the rules
# ---------------------------------------------------------------------------------------------
def test_the_shipped_rules_load_and_cover_every_default_series():
    from stresswatch import settings as settings_mod
    from stresswatch.pipeline import make_fetcher

    rules = plausibility.load_rules()
    settings = settings_mod.load(environ={})
    for source in settings.source_ids:
        for info in make_fetcher(settings, source).series():
            assert rules.for_series(info.id), f"no plausibility rule for {info.id}"


@pytest.mark.parametrize("text, fragment", [
    ("[[rule]]\nseries = 'x.*'\nmin = 5\nmax = 1\n", "min 5 is above max 1"),
    ("[[rule]]\nseries = 'x.*'\nmax_ratio = 0.5\n", "max_ratio` must be > 1"),
    ("[[rule]]\nseries = 'x.*'\npositiv = true\n", "unknown field(s) positiv"),
    ("[[rule]]\nmin = 1\n", "`series` must be"),
    ("[[rule]]\nseries = 'x.*'\nwithin_days = 0\n", "within_days"),
    ("[[rule]]\nseries = 'x.*'\nmax = nan\n", "finite number"),
    ("[rules]\nseries = 'x'\n", "unknown top-level key"),
    ("[[rule]\n", "not valid TOML"),
])
def test_a_broken_rules_file_is_a_config_error_naming_the_rule(tmp_path, text, fragment):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    settings = settings_for(tmp_path, **{"plausibility.rules": str(path)})
    with pytest.raises(ConfigError) as err:
        plausibility.load_rules(settings)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_screen_is_pure_and_judges_against_the_nearest_earlier_value():
    rules = plausibility.parse_rules("[[rule]]\nseries = 's'\nmax_ratio = 2.0\nwithin_days = 10\n", "t")
    window = plausibility.Window(D(2023, 1, 1), D(2023, 1, 31), D(2023, 2, 1))
    obs = [Observation("s", D(2023, 1, 20), 10.0), Observation("s", D(2023, 1, 21), 30.0),
           Observation("s", D(2023, 1, 5), 100.0)]
    history = {"s": [(D(2022, 12, 30), 10.0), (D(2023, 1, 4), 90.0)]}
    accepted, rejected = plausibility.screen(obs, rules, window, {"s": "D"}, history)
    # 1-20 is 16 days after 1-04: too old to compare; 1-21 jumps x3 from the accepted 1-20
    assert [o.date for o in accepted] == [D(2023, 1, 20), D(2023, 1, 5)]
    assert [(r.observation.date, "times 10" in r.reason) for r in rejected] == [(D(2023, 1, 21), True)]
