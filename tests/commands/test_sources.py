"""`stresswatch sources`: every registered source with series, base URL, enabled flag and the
ledger's last success / last error, in table, CSV and JSON, through the real CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from stresswatch import cli
from stresswatch.fetchers.base import load_all
from tests.conftest import run_cli
from tests.fakes.bis import BisFake
from tests.fakes.fred import FredFake

D = dt.date


def base_env(tmp_path) -> dict[str, str]:
    env = {"STRESSWATCH_STORE__PATH": str(tmp_path / "sw.db"), "STRESSWATCH_HTTP__BACKOFF_FACTOR": "0",
           "STRESSWATCH_HTTP__RETRY_AFTER_MAX": "0", "STRESSWATCH_HTTP__RETRIES": "1"}
    for source in ("bis", "fred", "moex"):
        env[f"STRESSWATCH_SOURCES__{source.upper()}__MIN_INTERVAL"] = "0"
    return env


def test_lists_every_registered_source_without_creating_a_store(tmp_path, monkeypatch):
    env = base_env(tmp_path) | {"STRESSWATCH_SOURCES__MOEX__ENABLED": "false",
                                "STRESSWATCH_SOURCES__BIS__AREAS": "RU,CN"}
    code, text = run_cli(monkeypatch, env, "sources", "--format", "json")
    assert code == 0
    rows = {r["source"]: r for r in json.loads(text)}
    assert set(rows) == set(load_all())
    assert {"bis", "fred", "moex"} <= set(rows)
    assert rows["bis"]["series"] == ["bis.cbpol.RU", "bis.cbpol.CN"]
    assert rows["bis"]["base_url"] == "https://stats.bis.org" and rows["bis"]["enabled"] is True
    assert rows["fred"]["series"] == ["fred.DCOILBRENTEU", "fred.DFF"]
    assert rows["fred"]["base_url"] == "https://fred.stlouisfed.org"
    assert rows["moex"] == {**rows["moex"], "enabled": False, "series": ["moex.index.IMOEX"],
                            "base_url": "https://iss.moex.com", "last_success": None, "last_error": None}
    assert not (tmp_path / "sw.db").exists()


def test_last_success_and_last_error_come_from_the_ledger(tmp_path, monkeypatch, httpserver):
    bis = BisFake({"RU": {D(2022, 2, 28): 20.0}})
    fred = FredFake({"DFF": {D(2022, 2, 28): 0.08}}).fail(503, count=None, retry_after="0")
    url = bis.install(httpserver)
    fred.install(httpserver)
    env = base_env(tmp_path) | {"STRESSWATCH_SOURCES__BIS__BASE_URL": url, "STRESSWATCH_SOURCES__BIS__AREAS": "RU",
                                "STRESSWATCH_SOURCES__FRED__BASE_URL": url, "STRESSWATCH_SOURCES__FRED__SERIES": "DFF"}
    code, _ = run_cli(monkeypatch, env, "backfill", "--start", "2022-01-01", "--end", "2022-03-31",
                      "--source", "bis", "--source", "fred")
    assert code == 1  # fred failed

    code, text = run_cli(monkeypatch, env, "sources", "--format", "json")
    assert code == 0
    rows = {r["source"]: r for r in json.loads(text)}
    assert rows["bis"]["last_success"] and rows["bis"]["last_error"] is None
    assert rows["bis"]["base_url"] == url
    assert rows["fred"]["last_success"] is None
    assert "503" in rows["fred"]["last_error"] and rows["fred"]["last_error_at"]
    assert rows["moex"]["last_success"] is None and rows["moex"]["last_error"] is None

    code, text = run_cli(monkeypatch, env, "sources", "--format", "csv")
    assert code == 0
    table = list(csv.DictReader(io.StringIO(text)))
    by_id = {r["source"]: r for r in table}
    assert list(table[0]) == ["source", "enabled", "series", "base_url", "last_success", "last_error",
                              "last_error_at", "description"]
    assert by_id["bis"]["series"] == "bis.cbpol.RU" and by_id["bis"]["enabled"] == "True"
    assert "503" in by_id["fred"]["last_error"] and by_id["moex"]["last_error"] == ""

    code, text = run_cli(monkeypatch, env, "sources")
    lines = text.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["source", "enabled", "series", "base_url"]
    assert any(line.startswith("fred ") and "503" in line for line in lines)


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["sources", "--help"])
    assert info.value.code == 0
    assert "stresswatch sources --format json" in capsys.readouterr().out
