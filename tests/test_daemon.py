"""The daemon as a real subprocess (`python -m stresswatch daemon`) with a schedule every 2 seconds,
a real SMTP server with AUTH (aiosmtpd) and a slow local HTTP server standing in for the Bank of
Russia so that a run can be killed while a step is in flight."""

from __future__ import annotations

import datetime as dt
import http.server
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from stresswatch import clock
from stresswatch import daemon as daemon_mod
from stresswatch import settings as settings_mod
from stresswatch.store import Store
from tests.conftest import REPO, settings_for
from tests.fakes.planted import plant_probabilities
from tests.fakes.smtp import SmtpServer

SECRET = "MARKER-pw-7f3a9c-MARKER"


class _SlowCbr(http.server.BaseHTTPRequestHandler):
    """Every request waits, then gets a 503: the fetch step is slow and fails."""

    delay = 1.0

    def _answer(self):
        time.sleep(self.delay)
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, *args):  # quiet
        pass


@pytest.fixture
def slow_cbr():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowCbr)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp():
    server = SmtpServer(credentials=("ops", SECRET)).start()
    yield server
    server.stop()


def _config(tmp_path: Path, smtp_port: int, cbr_url: str | None, for_runs: int = 2) -> Path:
    today = dt.datetime.now(dt.timezone.utc).date()
    sources = "".join(f"[sources.{sid}]\nenabled = false\n" for sid in settings_mod.defaults().source_ids
                      if sid != "cbr")
    cbr = (f'[sources.cbr]\nbase_url = "{cbr_url}"\nmin_interval = 0.0\n'
           f'history_start = {(today - dt.timedelta(days=5)).isoformat()}\n') if cbr_url else \
        "[sources.cbr]\nenabled = false\n"
    cfg = tmp_path / "stresswatch.toml"
    cfg.write_text(f"""
[store]
path = "{tmp_path / 'sw.db'}"
[log]
level = "DEBUG"
[http]
retries = 0
backoff_factor = 0.0
[daemon]
schedule = "*/2 * * * * *"
timezone = "UTC"
catch_up_days = 3
steps = ["fetch", "alerts", "mail"]
outbox_retry_minutes = 0.0
[mail]
host = "127.0.0.1"
port = {smtp_port}
starttls = false
username = "ops"
recipients = ["analyst@example.org"]
timeout = 5.0
[[alerts.rules]]
id = "stress-regime"
kind = "regime"
model = "ruble_rt"
for_runs = {for_runs}
clear_runs = 2
{cbr}{sources}""")
    return cfg


def _plant(tmp_path: Path, high_from: dt.date) -> None:
    today = dt.datetime.now(dt.timezone.utc).date()
    days = pd.date_range(today - dt.timedelta(days=20), today, freq="D")
    probs = pd.Series([0.9 if d.date() >= high_from else 0.05 for d in days], index=days)
    with Store.open(tmp_path / "sw.db") as store:
        plant_probabilities(store, "ruble_rt", probs)


def _start(cfg: Path, log: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_") or k == "STRESSWATCH_HOME"}
    env["STRESSWATCH_SMTP_PASSWORD"] = SECRET
    env["PYTHONUNBUFFERED"] = "1"
    fh = open(log, "ab")
    return subprocess.Popen([sys.executable, "-m", "stresswatch", "--config", str(cfg), "daemon"], cwd=REPO,
                            env=env, stdout=fh, stderr=subprocess.STDOUT)


def _wait(cond, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _ledger(db: Path, job: str, partition: str) -> str | None:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute("SELECT status FROM runs WHERE job = ? AND partition = ?", (job, partition)).fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def _no_secret_anywhere(tmp_path: Path) -> None:
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"the SMTP password leaked into {path}"


@pytest.mark.slow
def test_daemon_runs_sends_once_refuses_second_instance_and_stops_on_sigterm(tmp_path, smtp):
    today = dt.datetime.now(dt.timezone.utc).date()
    _plant(tmp_path, today - dt.timedelta(days=3))
    cfg = _config(tmp_path, smtp.port, None, for_runs=1)  # a fresh store runs only today: fire at once
    log = tmp_path / "daemon.log"
    proc = _start(cfg, log)
    try:
        _wait(lambda: len(smtp.box.received) == 1, what="the alert mail")
        # a second daemon on the same store refuses to start
        second = subprocess.run([sys.executable, "-m", "stresswatch", "--config", str(cfg), "daemon"], cwd=REPO,
                                capture_output=True, text=True, timeout=60,
                                env={**os.environ, "STRESSWATCH_SMTP_PASSWORD": SECRET})
        assert second.returncode == 1
        assert "a stresswatch daemon is already running" in second.stderr
        # a few scheduled runs later: still one mail; status shows the last and next run
        time.sleep(4.5)
        with Store.open(tmp_path / "sw.db") as store:
            s = settings_mod.load(cfg, environ={})
            extra = daemon_mod.status_extra(store, s)["daemon"]
        assert extra["running"] is True and extra["last_run"]["date"] == today.isoformat()
        assert extra["next_run"] > extra["last_run"]["started_at"][:19]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(smtp.box.received) == 1 and smtp.logins and smtp.logins[0] == "ops"
    text = log.read_text()
    assert "daemon stopped" in text
    # one line per step with its timing
    assert f"day {today.isoformat()} alerts  success in" in text and f"day {today.isoformat()} mail    success in" \
        in text
    _no_secret_anywhere(tmp_path)
    assert SECRET not in second.stdout + second.stderr


@pytest.mark.slow
def test_sigkill_mid_run_then_restart_catches_up_without_duplicate_mail(tmp_path, smtp, slow_cbr):
    today = dt.datetime.now(dt.timezone.utc).date()
    yesterday = today - dt.timedelta(days=1)
    _plant(tmp_path, today - dt.timedelta(days=2))  # high from D-2: pending on D-2, firing on D-1
    cfg = _config(tmp_path, smtp.port, slow_cbr)
    db = tmp_path / "sw.db"
    log = tmp_path / "daemon.log"
    # 1) fresh store: the daemon runs today's cycle; kill it while the (slow) fetch step is in flight
    proc = _start(cfg, log)
    try:
        _wait(lambda: _ledger(db, "day:fetch", today.isoformat()) == "running", what="a fetch in flight")
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _ledger(db, "day:alerts", today.isoformat()) is None and not smtp.box.received
    # 2) restart: catch-up runs the scheduled dates D-2, D-1, D (oldest first); the alert fires on D-1
    proc = _start(cfg, log)
    try:
        _wait(lambda: len(smtp.box.received) == 1, timeout=60, what="the alert mail after catch-up")
        assert yesterday.isoformat() in smtp.box.messages()[0]["Subject"]
        # kill again right after the mail went out, restart once more: nothing is sent twice
        proc.kill()
        proc.wait(timeout=30)
        proc = _start(cfg, log)
        _wait(lambda: _ledger(db, "day:alerts", today.isoformat()) == "success", timeout=60,
              what="today's alert step")
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(smtp.box.received) == 1
    text = log.read_text()
    assert "catch-up" in text and "fetch   failed in" in text
    _no_secret_anywhere(tmp_path)


def test_cron_trigger_fields_and_scheduled_dates(tmp_path):
    tz = clock.timezone_of(settings_for(tmp_path))
    trig = daemon_mod.cron_trigger("0 30 16 * * mon-fri", tz)
    fire = trig.get_next_fire_time(None, dt.datetime(2022, 2, 25, 17, 0, tzinfo=tz))  # a Friday after 16:30
    assert fire == dt.datetime(2022, 2, 28, 16, 30, tzinfo=tz)  # Monday
    five = daemon_mod.cron_trigger("15 6 * * mon-fri", tz)
    assert five.get_next_fire_time(None, dt.datetime(2022, 2, 26, tzinfo=tz)).hour == 6
    now = dt.datetime(2022, 3, 2, 17, 0, tzinfo=tz)  # Wednesday after the run
    assert daemon_mod.scheduled_dates(trig, tz, now, 4) == [dt.date(2022, 2, 25), dt.date(2022, 2, 28),
                                                            dt.date(2022, 3, 1), dt.date(2022, 3, 2)]
    before = dt.datetime(2022, 3, 2, 9, 0, tzinfo=tz)  # today's run not yet due
    assert daemon_mod.scheduled_dates(trig, tz, before, 2) == [dt.date(2022, 2, 28), dt.date(2022, 3, 1)]
    from stresswatch.errors import ConfigError

    with pytest.raises(ConfigError, match="schedule"):
        daemon_mod.cron_trigger("0 99 * * *", tz)
    with pytest.raises(ConfigError, match="time zone"):
        clock.timezone_of(settings_for(tmp_path, **{"daemon.timezone": "Mars/Olympus"}))
