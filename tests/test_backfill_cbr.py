"""End to end: `stresswatch backfill --source cbr` through the real CLI against the fake CBR
(a real HTTP server on 127.0.0.1), into a real SQLite store. Faults injected on the wire:
503 bursts with Retry-After, a DDOS-GUARD challenge page with HTTP 200, a truncated body, a read
timeout; a subprocess killed with SIGKILL mid-partition and resumed; a permanently failing partition."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stresswatch import cli
from stresswatch.store import Store
from tests.conftest import all_observations
from tests.fakes.cbr import FakeCbr, synthetic_history

REPO = Path(__file__).resolve().parents[1]
START, END = dt.date(2013, 1, 1), dt.date(2014, 6, 30)
#: CNY quoted per 10 yuan in the second half of 2013, as the CBR did in 2022-23
CNY_PER_10 = (dt.date(2013, 7, 1), dt.date(2013, 12, 31))
HISTORY = synthetic_history(START, END, cny_per_10=CNY_PER_10)


@pytest.fixture
def fake():
    with FakeCbr(synthetic_history(START, END, cny_per_10=CNY_PER_10)) as server:
        yield server


def env_for(tmp_path: Path, fake: FakeCbr, db: str = "sw.db", **extra: str) -> dict[str, str]:
    values = {
        "STRESSWATCH_STORE__PATH": str(tmp_path / db),
        "STRESSWATCH_SOURCES__CBR__BASE_URL": fake.base_url,
        "STRESSWATCH_SOURCES__CBR__MIN_INTERVAL": "0",
        "STRESSWATCH_SOURCES__CBR__TIMEOUT": "5",
        "STRESSWATCH_HTTP__BACKOFF_FACTOR": "0",
        "STRESSWATCH_HTTP__RETRY_AFTER_MAX": "1",
    }
    values.update(extra)
    return values


def run_cli(monkeypatch, env: dict[str, str], *argv: str) -> tuple[int, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    code = cli.main(list(argv), out=out)
    return code, out.getvalue()


def backfill_args(start: dt.date = START, end: dt.date = END, *extra: str) -> list[str]:
    return ["backfill", "--start", start.isoformat(), "--end", end.isoformat(), "--source", "cbr", *extra]


def observations(db: Path) -> list[tuple]:
    with Store.open(db) as store:
        return all_observations(store)


def fetch_ledger(db: Path) -> dict[str, str]:
    """Partition -> status of the `fetch:cbr` ledger rows."""
    with Store.open(db) as store:
        return {r["partition"]: r["status"] for r in store.ledger.rows("fetch:cbr") if r["job"] == "fetch:cbr"}


def integrity(db: Path) -> str:
    with Store.open(db) as store:
        return store.integrity_check()


def latest_values(db: Path) -> list[tuple[str, str, float]]:
    return [(s, d, v) for s, d, _k, v in observations(db)]


def test_backfill_through_faults_gives_the_published_values(tmp_path, monkeypatch, fake):
    env = env_for(tmp_path, fake)
    # a 503 burst (urllib3 retries, Retry-After honoured), a challenge page and a truncated body
    # (archived, then asked again by the pipeline), one read timeout on the SOAP call
    fake.inject("dynamic", "503", times=3, retry_after=0)
    fake.inject("dynamic", "challenge", times=1, when=lambda r: r.query.get("VAL_NM_RQ") == "R01239")
    fake.inject("dynamic", "truncated", times=1, when=lambda r: r.query.get("VAL_NM_RQ") == "R01375")
    fake.inject("keyrate", "challenge", times=1)
    fake.inject("keyrate", "slow", times=1, delay=4.0)  # read timeout 1 s: urllib3 asks again
    code, out = run_cli(monkeypatch, {**env, "STRESSWATCH_SOURCES__CBR__TIMEOUT": "1"}, *backfill_args())
    assert code == 0, out
    assert sorted(r.fault for r in fake.requests if r.fault) == ["503", "503", "503", "challenge", "challenge",
                                                                   "slow", "truncated"]
    # 6 dynamic answers + 3 retried 503s + 2 bad bodies asked again; 2 SOAP calls + challenge + timeout
    assert fake.count("dynamic") == 11 and fake.count("keyrate") == 4

    db = tmp_path / "sw.db"
    assert latest_values(db) == sorted(HISTORY.rows(START, END))
    dates = {dt.date.fromisoformat(d) for _s, d, _v in latest_values(db)}
    assert not any(d.weekday() in (6, 0) for d in dates if d not in HISTORY.keyrate)  # no Sun/Mon fixings
    fx_dates = {dt.date.fromisoformat(d) for s, d, _v in latest_values(db) if s.startswith("cbr.fx.")}
    assert fx_dates and not any(d.weekday() in (6, 0) for d in fx_dates)

    # CNY quoted per 10 in 2013-H2 is stored per 1 yuan; what `series show` prints is what was published
    code, csv_text = run_cli(monkeypatch, env, "series", "show", "cbr.fx.CNY", "--start", "2013-06-20",
                             "--end", "2013-07-10", "--format", "csv")
    assert code == 0
    shown = {row["date"]: float(row["value"]) for row in csv.DictReader(io.StringIO(csv_text))}
    expected = {d.isoformat(): v for d, v in HISTORY.per_unit("CNY").items()
                if dt.date(2013, 6, 20) <= d <= dt.date(2013, 7, 10)}
    assert shown == expected and len(shown) >= 10
    nominal, quoted = HISTORY.fx["CNY"][dt.date(2013, 7, 2)]
    assert nominal == 10 and shown["2013-07-02"] == float(quoted / 10)

    code, kr_text = run_cli(monkeypatch, env, "series", "show", "cbr.keyrate", "--format", "csv")
    assert code == 0
    keyrate = {row["date"]: float(row["value"]) for row in csv.DictReader(io.StringIO(kr_text))}
    assert keyrate == {d.isoformat(): float(v) for d, v in HISTORY.keyrate.items() if d <= END}
    assert min(keyrate) == "2013-09-13"

    # every body was archived before parsing, the bad ones too; reparse rebuilds the same table offline
    from stresswatch.store import Store

    with Store.open(db) as store:
        bodies = [p.body for p in store.payloads.iter("cbr")]
    assert sum(b"DDOS-GUARD" in body for body in bodies) == 2
    before = observations(db)
    fake.reset_counts()
    code, out = run_cli(monkeypatch, env, "reparse", "--source", "cbr", "--format", "json")
    assert code == 0 and fake.count() == 0
    (rep,) = json.loads(out)
    assert rep["unparseable"] == 3 and rep["parsed"] == 8
    assert observations(db) == before

    code, status_text = run_cli(monkeypatch, env, "status", "--format", "json", "--date", "2014-07-01")
    assert code == 0
    status = json.loads(status_text)
    assert {s["series"] for s in status["series"]} >= {"cbr.fx.USD", "cbr.fx.EUR", "cbr.fx.CNY", "cbr.keyrate"}


def test_second_backfill_adds_nothing_and_asks_nothing(tmp_path, monkeypatch, fake):
    env = env_for(tmp_path, fake)
    code, _ = run_cli(monkeypatch, env, *backfill_args())
    assert code == 0
    first = observations(tmp_path / "sw.db")
    assert fake.count() == 8  # 2 yearly partitions x (USD, EUR, CNY, key rate)
    fake.reset_counts()

    code, out = run_cli(monkeypatch, env, *backfill_args(START, END, "--format", "json"))
    assert code == 0
    assert fake.count() == 0
    assert observations(tmp_path / "sw.db") == first
    (summary,) = json.loads(out)
    assert summary["skipped"] == 2 and summary["success"] == 0 and summary["rows"] == 0

    # asking for everything again re-requests and still adds no rows (same values, no new vintages)
    code, out = run_cli(monkeypatch, env, *backfill_args(START, END, "--reprocess", "all", "--format", "json"))
    assert code == 0 and fake.count() == 8
    assert observations(tmp_path / "sw.db") == first
    assert json.loads(out)[0]["rows"] == 0


def test_failing_partition_exits_1_and_is_retried_with_reprocess_failed(tmp_path, monkeypatch, fake):
    env = env_for(tmp_path, fake)
    fake.inject("dynamic", "404", times=None, when=lambda r: r.query.get("date_req1") == "01/01/2014"
                and r.query.get("VAL_NM_RQ") == "R01235")
    code, out = run_cli(monkeypatch, env, *backfill_args(START, END, "--format", "json"))
    assert code == 1
    (summary,) = json.loads(out)
    assert summary["success"] == 1 and summary["failed"] == 1
    assert "404" in summary["error"]
    db = tmp_path / "sw.db"
    assert max(d for _s, d, _v in latest_values(db)) < "2014-01-01"  # the failed year wrote nothing
    rows = fetch_ledger(db)
    assert rows == {"2013-01-01..2013-12-31": "success", "2014-01-01..2014-12-31": "failed"}

    fake.clear_faults()
    fake.reset_counts()
    code, out = run_cli(monkeypatch, env, *backfill_args(START, END, "--reprocess", "failed"))
    assert code == 0
    assert fake.count() == 4 and all(r.query.get("date_req1", "01/01/2014") == "01/01/2014" for r in fake.requests)
    assert latest_values(db) == sorted(HISTORY.rows(START, END))


@pytest.mark.slow
def test_sigkill_mid_partition_then_resume_equals_a_clean_run(tmp_path, monkeypatch, fake):
    # the clean reference run
    code, _ = run_cli(monkeypatch, env_for(tmp_path, fake, db="clean.db"), *backfill_args())
    assert code == 0
    clean = observations(tmp_path / "clean.db")

    fake.reset_counts()
    fake.delay = 0.4  # every answer takes 0.4 s: partition 2 (requests 5-8) is in flight at request 6
    env = {**os.environ, **env_for(tmp_path, fake, db="killed.db")}
    proc = subprocess.Popen([sys.executable, "-m", "stresswatch", *backfill_args()], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while fake.count() < 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    killed_db = tmp_path / "killed.db"
    assert integrity(killed_db) == "ok"
    ledger = fetch_ledger(killed_db)
    assert ledger.get("2013-01-01..2013-12-31") == "success"
    assert ledger.get("2014-01-01..2014-12-31") in (None, "running")  # nothing of 2014 committed
    assert max(d for _s, d, _v in latest_values(killed_db)) < "2014-01-01"

    fake.delay = 0.0
    fake.reset_counts()
    code, _ = run_cli(monkeypatch, env_for(tmp_path, fake, db="killed.db"), *backfill_args())
    assert code == 0
    assert fake.count() == 4  # only the interrupted partition is asked again
    assert observations(killed_db) == clean
    assert integrity(killed_db) == "ok"


def test_fake_daily_table_and_directory_parse_with_the_fetcher(fake):
    import requests

    from stresswatch.fetchers.cbr import CbrFetcher, parse_directory

    fx = CbrFetcher({"base_url": fake.base_url, "currencies": ["USD", "EUR", "CNY"]})
    monday = dt.date(2013, 8, 12)
    req = fx.daily_request(monday)
    resp = requests.get(req.url, params=req.params, timeout=5)
    assert resp.content.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    assert "Китайских юаней".encode("cp1251") in resp.content  # nominal 10 in force, cp1251 on the wire
    result = fx.parse(resp.content, req, resp.headers["Content-Type"])
    saturday = dt.date(2013, 8, 10)  # the table in force on Monday is the one dated Saturday
    assert {(o.series_id, o.date, o.value) for o in result.observations} == {
        (f"cbr.fx.{iso}", saturday, HISTORY.per_unit(iso)[saturday]) for iso in ("USD", "EUR", "CNY")}
    directory = parse_directory(requests.get(fake.base_url + "/scripts/XML_valFull.asp", timeout=5).content)
    assert directory["USD"] == "R01235" and directory["TRY"] == "R01700J"


def test_history_from_shared_replays_the_real_series():
    from tests.conftest import shared_path
    from tests.fakes.cbr import history_from_shared

    hist = history_from_shared(shared_path("data", "real"))
    usd, cny = hist.per_unit("USD"), hist.per_unit("CNY")
    assert usd[dt.date(2022, 3, 11)] == 120.3785 and usd[dt.date(2023, 8, 15)] == 101.0399
    assert dt.date(2023, 8, 13) not in usd and dt.date(2023, 8, 14) not in usd
    assert hist.fx["CNY"][dt.date(2023, 8, 15)][0] == 10 and cny[dt.date(2023, 8, 15)] == 13.8741
    assert float(hist.keyrate[dt.date(2023, 8, 15)]) == 12.0 and float(hist.keyrate[dt.date(2023, 8, 14)]) == 8.5
