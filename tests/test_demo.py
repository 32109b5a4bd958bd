"""`stresswatch demo` (issue 13, "A first report with no network"): the shipped real sample (small,
with its provenance, rebuilt byte for byte from ../shared when present), a separate demo store that
is never the user's, and the report of 2023-08-16 rendered with every outgoing connection refused —
charts included, checked for overlapping text on the real history."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import socket
from importlib import resources
from pathlib import Path

import pytest

from stresswatch.demo import DEMO_DATE, OFFLINE_HINT
from stresswatch.demo import build as demo_build
from stresswatch.demo.sample import SAMPLE, read_sample, sample_bytes
from stresswatch.reports import chart_layout
from stresswatch.reports.charts import draw_chart
from stresswatch.reports.context import ContextBuilder
from stresswatch.settings import load
from stresswatch.store import Store
from tests.conftest import run_cli, shared_root

D = dt.date(2023, 8, 16)


def shipped() -> bytes:
    return resources.files("stresswatch.demo.data").joinpath(SAMPLE).read_bytes()


def test_the_sample_is_small_real_and_documented():
    raw = shipped()
    assert len(raw) < 300_000  # "a few hundred KB at most"
    sample = read_sample()
    by = {(o.series_id, o.date): o.value for o in sample.observations}
    assert {s.id for s in sample.series} == {"cbr.fx.USD", "cbr.fx.EUR", "cbr.fx.CNY", "cbr.keyrate"}
    assert by[("cbr.fx.USD", dt.date(2023, 8, 15))] == 101.0399
    assert by[("cbr.fx.USD", dt.date(2022, 3, 11))] == 120.3785
    assert by[("cbr.keyrate", dt.date(2023, 8, 14))] == 8.5 and by[("cbr.keyrate", dt.date(2023, 8, 15))] == 12.0
    assert by[("cbr.fx.CNY", dt.date(2023, 8, 15))] == 13.8741
    assert min(d for s, d in by if s == "cbr.fx.CNY") == dt.date(2021, 1, 1)  # CNY exists only from 2021
    assert sample.first == dt.date(2013, 1, 10) and sample.last == dt.date(2024, 5, 31)
    provenance = resources.files("stresswatch.demo.data").joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    assert f"{len(sample.observations):,} rows" in provenance and "CNY before 2021" in provenance
    for path in ("fx/cbr_usd_rub_1992_2024.csv", "fx/cbr_eur_rub_1999_2020.csv",
                 "fx/cbr_usd_eur_cny_rub_2021_2026.csv", "rates/cbr_key_rate_daily_2013_2023.tsv",
                 "rates/cbr_key_rate_daily_2021_2026.csv"):
        assert path in provenance


def test_the_sample_is_rebuilt_byte_for_byte_from_shared():
    real = shared_root() / "data" / "real"
    if not real.is_dir():
        pytest.skip(f"{real} not available (../shared is absent in a fresh clone)")
    assert hashlib.sha256(sample_bytes(real)).hexdigest() == hashlib.sha256(shipped()).hexdigest()


def test_the_offline_hint_is_one_short_line():
    assert "stresswatch demo" in OFFLINE_HINT and DEMO_DATE in OFFLINE_HINT
    assert "\n" not in OFFLINE_HINT and len(OFFLINE_HINT) <= 160


@pytest.fixture
def no_network(monkeypatch):
    """Every outgoing connection attempt is recorded and refused (the demo must not need one)."""
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection",
                        lambda address, *a, **k: attempts.append(address) or (_ for _ in ()).throw(OSError("no")))
    return attempts


@pytest.mark.slow
def test_demo_builds_its_own_store_and_renders_2023_08_16_offline(tmp_path, monkeypatch, capsys, no_network):
    home = tmp_path / "home"
    user_store = tmp_path / "mine" / "stresswatch.db"
    with Store.open(user_store, create_folder=True) as store:  # the user's own store, with something in it
        store.observations.upsert_series(read_sample().series[:1])
    before = (user_store.read_bytes(), user_store.stat().st_mtime_ns)

    code, out = run_cli(monkeypatch, {"STRESSWATCH_HOME": str(home)}, "--store", str(user_store), "demo")
    err = capsys.readouterr().err
    assert code == 0, err
    folder = home / "demo"
    report = folder / "reports" / "2023-08-16" / "report.html"
    lines = out.splitlines()
    assert lines[0] == f"demo report for 2023-08-16: {report}"
    assert f"demo store: {folder / 'stresswatch.db'} (9,021 Bank of Russia observations" in out
    assert f"explore it: stresswatch --config {folder / 'stresswatch.toml'} report" in out
    assert "stresswatch: demo: computing" in err
    assert no_network == []
    assert (user_store.read_bytes(), user_store.stat().st_mtime_ns) == before  # never the user's store
    assert not (tmp_path / "mine" / "reports").exists()

    ctx = json.loads((report.parent / "report.json").read_text())
    head = ctx["headline"]
    assert head["available"] and head["run_asof"] == "2023-08-16"
    assert ctx["keyrate"]["value"] == 12.0 and ctx["keyrate"]["last_decision"]["extraordinary"] is True
    usd = next(r for r in ctx["fx"] if r["currency"] == "USD")
    assert usd["date"] == "2023-08-16" and usd["rate"] == 97.4217
    shoigu = next(r for r in ctx["statements"]["catalogue"] if r["id"] == "shoigu-more-than-allied-2023")
    assert shoigu["t0"] == "2023-08-15" and shoigu["confounded"] and shoigu["window_end"] == "2023-08-22"
    assert not [w for w in ctx["warnings"] if w["level"] in ("warning", "error")]
    assert sorted(p.name for p in (report.parent / "charts").iterdir()) == sorted(
        Path(c["file"]).name for c in ctx["charts"])
    assert [e["date"] for e in json.loads((folder / "reports" / "index.json").read_text())["reports"]] == [
        "2023-08-16"]

    # every chart of the real history is free of overlapping text
    settings = load(folder / "stresswatch.toml", environ={})
    with Store.open(settings.store_path) as store:
        data = ContextBuilder(store, settings, write_snapshots=False).build(D)
    for spec in data.charts:
        assert chart_layout.overlaps(draw_chart(spec)) == [], spec.id

    # the settings file points every command at the demo store, with no source to fetch
    code, out = run_cli(monkeypatch, {"STRESSWATCH_HOME": str(home)}, "--config", str(folder / "stresswatch.toml"),
                        "series", "show", "cbr.fx.USD", "--start", "2023-08-14", "--end", "2023-08-16",
                        "--format", "csv")
    assert code == 0 and out.splitlines() == ["date,value", "2023-08-15,101.0399", "2023-08-16,97.4217"]
    assert not settings.enabled_sources()

    # a second demo rebuilds it in place
    code, _ = run_cli(monkeypatch, {"STRESSWATCH_HOME": str(home)}, "demo", "--date", "2022-03-01")
    assert code == 0 and (folder / "reports" / "2022-03-01" / "report.html").is_file()
    assert no_network == []


def test_demo_never_builds_over_a_store_it_did_not_make(tmp_path, monkeypatch, capsys):
    user = tmp_path / "data"
    with Store.open(user / "stresswatch.db", create_folder=True):
        pass
    before = (user / "stresswatch.db").read_bytes()
    env = {"STRESSWATCH_HOME": str(tmp_path / "home")}
    code, _ = run_cli(monkeypatch, env, "demo", "--path", str(user))
    assert code == 2 and "already holds a store that the demo did not make" in capsys.readouterr().err
    code, _ = run_cli(monkeypatch, env, "--store", str(tmp_path / "elsewhere" / "stresswatch.db"), "demo",
                      "--path", str(tmp_path / "elsewhere"))
    assert code == 2 and "is your store" in capsys.readouterr().err
    assert (user / "stresswatch.db").read_bytes() == before and not (user / "DEMO").exists()
    code, _ = run_cli(monkeypatch, env, "demo", "--path", str(tmp_path / "d"), "--date", "2025-01-02")
    assert code == 2 and "the demo sample covers 2013-01-10..2024-05-31" in capsys.readouterr().err


def test_demo_settings_enable_no_source(tmp_path):
    text = demo_build.config_text(tmp_path)
    path = tmp_path / "s.toml"
    path.write_text(text)
    settings = load(path, environ={})
    assert settings.enabled_sources() == [] and settings.store_path == tmp_path / "stresswatch.db"
    assert settings.reports_dir == tmp_path / "reports"


def test_the_offline_run_suggests_the_demo(tmp_path, monkeypatch, capsys):
    """`run` on a machine that reaches no source ends with the demo hint on stderr (issue 13: "the
    offline `run` suggests it"): every source points at a closed local port or a name that does
    not resolve; the real cycle runs in-process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    lines = [f'[store]\npath = "{tmp_path / "sw.db"}"\n']
    for source in ("bis", "cbr", "comtrade", "fred", "imf", "moex"):
        lines.append(f'[sources.{source}]\nbase_url = "http://127.0.0.1:{closed}"\n')
    lines.append('[sources.gdelt]\nbase_url = "http://no-such-host.invalid"\n')
    config = tmp_path / "offline.toml"
    config.write_text("\n".join(lines))
    code, _ = run_cli(monkeypatch, {"STRESSWATCH_HOME": str(tmp_path / "home")}, "--config", str(config),
                      "run", "--date", "2023-08-16")
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert "stresswatch: 2023-08-16 fetch: cbr: 127.0.0.1:" + str(closed) + " — connection refused" in "\n".join(err)
    assert err[-1] == f"stresswatch: {OFFLINE_HINT}"
