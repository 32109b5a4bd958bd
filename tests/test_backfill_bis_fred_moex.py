"""End to end: `stresswatch backfill --source bis --source fred --source moex` through the real CLI
and pipeline against local replays of the three wire formats, then `series show`; one source
answering 503 leaves the others complete; and replays built from the real history files give the
published values (skipped when ../shared is absent)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from stresswatch.store import Store
from tests.conftest import run_cli
from tests.fakes.bis import BisFake, shared_file
from tests.fakes.fred import FredFake
from tests.fakes.moex import MoexFake

D = dt.date


def env_for(tmp_path, url: str, **extra: str) -> dict[str, str]:
    env = {"STRESSWATCH_STORE__PATH": str(tmp_path / "sw.db"), "STRESSWATCH_HTTP__BACKOFF_FACTOR": "0",
           "STRESSWATCH_HTTP__RETRY_AFTER_MAX": "0", "STRESSWATCH_HTTP__RETRIES": "1"}
    for source in ("BIS", "FRED", "MOEX"):
        env[f"STRESSWATCH_SOURCES__{source}__BASE_URL"] = url
        env[f"STRESSWATCH_SOURCES__{source}__MIN_INTERVAL"] = "0"
    env.update(extra)
    return env


def show(monkeypatch, env, series_id: str, *extra: str) -> dict[dt.date, float]:
    code, text = run_cli(monkeypatch, env, "series", "show", series_id, "--format", "csv", *extra)
    assert code == 0, text
    return {dt.date.fromisoformat(r["date"]): float(r["value"]) for r in csv.DictReader(io.StringIO(text))}


def backfill(monkeypatch, env, start: str, end: str) -> tuple[int, list[dict]]:
    code, text = run_cli(monkeypatch, env, "backfill", "--start", start, "--end", end, "--source", "bis",
                         "--source", "fred", "--source", "moex", "--format", "csv")
    return code, list(csv.DictReader(io.StringIO(text)))


BIS_DATA = {
    "RU": {D(2021, 12, 20): 8.5, D(2022, 2, 25): 9.5, D(2022, 2, 28): 20.0, D(2022, 4, 11): 17.0,
           D(2022, 4, 12): None},
    "CN": {D(2021, 12, 20): 3.8, D(2022, 1, 20): 3.7},
}
FRED_DATA = {
    "DCOILBRENTEU": {D(2021, 12, 31): 77.24, D(2022, 3, 8): 133.18, D(2022, 4, 15): None, D(2022, 4, 18): None,
                     D(2022, 4, 19): 109.51},
    "DFF": {D(2022, 3, 16): 0.08, D(2022, 3, 17): 0.33},
}
MOEX_DATA = {"IMOEX": {D(2021, 12, 30): 3787.26, D(2022, 2, 22): 3052.88, D(2022, 2, 24): 2058.12,
                       D(2022, 2, 25): 2470.48, D(2022, 3, 24): 2578.51}}


def test_backfill_three_sources_then_series_show(tmp_path, monkeypatch, httpserver):
    bis, fred, moex = BisFake(BIS_DATA), FredFake(FRED_DATA, layout="old"), MoexFake(MOEX_DATA, page_size=2)
    url = bis.install(httpserver)
    fred.install(httpserver)
    moex.install(httpserver)
    env = env_for(tmp_path, url, STRESSWATCH_SOURCES__BIS__AREAS="RU,CN")
    code, summary = backfill(monkeypatch, env, "2021-12-01", "2022-04-30")
    assert code == 0, summary
    by_source = {r["source"]: r for r in summary}
    assert {s: int(by_source[s]["success"]) for s in ("bis", "fred", "moex")} == {"bis": 2, "fred": 2, "moex": 2}
    assert int(by_source["moex"]["requests"]) == 1 + 2  # 2021: one page; 2022: four rows in two pages

    assert show(monkeypatch, env, "bis.cbpol.RU") == {D(2021, 12, 20): 8.5, D(2022, 2, 25): 9.5,
                                                      D(2022, 2, 28): 20.0, D(2022, 4, 11): 17.0}
    assert show(monkeypatch, env, "bis.cbpol.CN") == {D(2021, 12, 20): 3.8, D(2022, 1, 20): 3.7}
    assert show(monkeypatch, env, "fred.DCOILBRENTEU") == {D(2021, 12, 31): 77.24, D(2022, 3, 8): 133.18,
                                                           D(2022, 4, 19): 109.51}
    assert show(monkeypatch, env, "fred.DFF") == {D(2022, 3, 16): 0.08, D(2022, 3, 17): 0.33}
    assert show(monkeypatch, env, "moex.index.IMOEX") == {d: v for d, v in MOEX_DATA["IMOEX"].items()}

    # point in time: the BIS lag keeps the 28 Feb hike unknown on 28 Feb when fetched after the fact
    asof = show(monkeypatch, env, "bis.cbpol.RU", "--asof", "2022-02-28")
    assert asof == {D(2021, 12, 20): 8.5, D(2022, 2, 25): 9.5}

    # a second run has nothing left to do
    code, summary = backfill(monkeypatch, env, "2021-12-01", "2022-04-30")
    assert code == 0 and all(int(r["requests"]) == 0 for r in summary)


def test_one_source_answering_503_leaves_the_others_complete(tmp_path, monkeypatch, httpserver):
    bis = BisFake(BIS_DATA)
    fred = FredFake(FRED_DATA).fail(503, count=None, retry_after="0")
    moex = MoexFake(MOEX_DATA)
    url = bis.install(httpserver)
    fred.install(httpserver)
    moex.install(httpserver)
    env = env_for(tmp_path, url, STRESSWATCH_SOURCES__BIS__AREAS="RU,CN")
    code, summary = backfill(monkeypatch, env, "2022-01-01", "2022-03-31")
    assert code == 1
    by_source = {r["source"]: r for r in summary}
    assert by_source["fred"]["failed"] == "1" and "503" in by_source["fred"]["error"]
    assert by_source["bis"]["success"] == "1" and by_source["moex"]["success"] == "1"
    assert show(monkeypatch, env, "bis.cbpol.RU") == {D(2022, 2, 25): 9.5, D(2022, 2, 28): 20.0}
    assert show(monkeypatch, env, "moex.index.IMOEX")[D(2022, 2, 24)] == 2058.12
    with Store.open(tmp_path / "sw.db") as store:
        assert sum(s["count"] for s in store.observations.list_series("fred")) == 0

    # the source comes back: only the failed partition is fetched again
    fred.failures = None
    code, summary = backfill(monkeypatch, env, "2022-01-01", "2022-03-31")
    assert code == 0
    assert {r["source"]: int(r["requests"]) for r in summary} == {"bis": 0, "fred": 2, "moex": 0}
    assert show(monkeypatch, env, "fred.DCOILBRENTEU") == {D(2022, 3, 8): 133.18}


def test_replays_of_the_real_history_give_the_published_values(tmp_path, monkeypatch, httpserver):
    bis_path = shared_file("data", "real", "rates", "bis_WS_CBPOL_D_csv_col.csv")
    brent_path = shared_file("data", "real", "oil", "fred_DCOILBRENTEU_daily_1987_2025.csv")
    moex_path = shared_file("data", "real", "markets", "moex_IMOEX_daily_1997_2026.csv")
    if not (bis_path and brent_path and moex_path):
        pytest.skip("../shared/data/real is not present")
    start, end = D(2021, 10, 1), D(2022, 5, 31)
    bis = BisFake.from_wide_csv(bis_path, start=start, end=end)  # serves all 38; the 14 default areas asked
    fred = FredFake.from_csv(brent_path, "DCOILBRENTEU")
    moex = MoexFake.from_iss_csv(moex_path, "IMOEX")
    url = bis.install(httpserver)
    fred.install(httpserver)
    moex.install(httpserver)
    env = env_for(tmp_path, url, STRESSWATCH_SOURCES__FRED__SERIES="DCOILBRENTEU")
    code, summary = backfill(monkeypatch, env, start.isoformat(), end.isoformat())
    assert code == 0, summary

    ru = show(monkeypatch, env, "bis.cbpol.RU")
    assert ru[D(2022, 2, 25)] == 9.5 and ru[D(2022, 2, 28)] == 20.0
    assert show(monkeypatch, env, "bis.cbpol.US")[D(2022, 3, 1)] == 0.125
    brent = show(monkeypatch, env, "fred.DCOILBRENTEU")
    assert brent[D(2022, 3, 8)] == 133.18
    assert D(2022, 4, 15) not in brent  # a blank day in the file: no row
    assert len(brent) == sum(1 for d, v in fred.data["DCOILBRENTEU"].items() if start <= d <= end and v is not None)
    imoex = show(monkeypatch, env, "moex.index.IMOEX")
    assert imoex[D(2022, 2, 24)] == 2058.12
    assert len(imoex) == sum(1 for d, v in moex.data["IMOEX"].items() if start <= d <= end and v is not None)
    # Saudi Arabia has an empty cell on 2022-02-25 (no row) and India NaN on 2022-03-01 (a gap)
    sa, india = show(monkeypatch, env, "bis.cbpol.SA"), show(monkeypatch, env, "bis.cbpol.IN")
    assert D(2022, 2, 25) not in sa and sa[D(2022, 2, 28)] == 1.0
    assert D(2022, 3, 1) not in india and india[D(2022, 2, 28)] == 4.0
