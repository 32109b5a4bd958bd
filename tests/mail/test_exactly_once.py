"""Exactly-once alert mail (issue 14, item 7) against a real SMTP server (aiosmtpd) and the real CLI
in a subprocess: the server saves the message and holds its answer; the sender is SIGKILLed in
that window and restarted. Before the fix, 5 of 5 trials delivered two copies.

What is shown:
- killed after the server saved the message (the text went out, no answer): the restart holds
  the message *in doubt* instead of sending it again - exactly one copy in each of 5 trials; it is
  listed (`alerts outbox`, `status`, `alerts list`) and an operator drops or resends it;
- killed before DATA (the server held its RCPT answer): the text never went out, so the restart
  sends it - exactly one copy;
- in-process, a server that saves but answers after the socket timeout: in doubt, not retried.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import signal
import subprocess
import sys
import threading
import time
from email import policy
from pathlib import Path

import pandas as pd
import pytest

from stresswatch import settings as settings_mod
from stresswatch.errors import UsageError
from stresswatch.mail.delivery import deliver, drop, resend
from stresswatch.store import Store
from tests.conftest import REPO, run_cli
from tests.fakes.planted import plant_probabilities
from tests.fakes.smtp import SmtpServer
from tests.mail.common import CLOCK, mail_settings, queue

DAY = dt.date(2022, 3, 1)
TRIALS = 5


def _config(folder: Path, smtp_port: int) -> Path:
    disabled = "".join(f"[sources.{sid}]\nenabled = false\n" for sid in settings_mod.defaults().source_ids)
    cfg = folder / "stresswatch.toml"
    cfg.write_text(f"""
[store]
path = "{folder / 'sw.db'}"
[daemon]
steps = ["alerts", "mail"]
timezone = "UTC"
[mail]
host = "127.0.0.1"
port = {smtp_port}
starttls = false
recipients = ["analyst@example.org"]
timeout = 60.0
[[alerts.rules]]
id = "stress-regime"
kind = "regime"
model = "ruble_rt"
for_runs = 1
clear_runs = 2
{disabled}""")
    return cfg


def _plant(folder: Path) -> None:
    days = pd.bdate_range(DAY - dt.timedelta(days=20), DAY)
    probs = pd.Series([0.9 if d.date() >= DAY - dt.timedelta(days=2) else 0.05 for d in days],
                      index=pd.DatetimeIndex(days, name="date"))
    with Store.open(folder / "sw.db") as store:
        plant_probabilities(store, "ruble_rt", probs)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_") or k == "STRESSWATCH_HOME"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _cli(cfg: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "stresswatch", "--config", str(cfg), *argv]


def _run_to_end(cfg: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_cli(cfg, "run", "--date", DAY.isoformat()), cwd=REPO, env=_env(), capture_output=True,
                          text=True, timeout=120)


def _kill_when(event: threading.Event, cfg: Path, log: Path) -> None:
    """Start `run --date DAY`, SIGKILL it once `event` is set (the server is holding its answer)."""
    with open(log, "ab") as fh:
        proc = subprocess.Popen(_cli(cfg, "run", "--date", DAY.isoformat()), cwd=REPO, env=_env(), stdout=fh,
                                stderr=subprocess.STDOUT)
    try:
        assert event.wait(90), f"the server never got that far; log:\n{log.read_text()}"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _message_ids(server: SmtpServer) -> list[str]:
    return [str(email.message_from_bytes(raw, policy=policy.default)["Message-ID"])
            for _f, _r, raw in server.box.received]


@pytest.mark.slow
def test_sigkill_after_the_server_saved_the_mail_delivers_exactly_one_copy_in_5_trials(tmp_path, monkeypatch, capsys):
    copies = []
    for trial in range(TRIALS):
        folder = tmp_path / f"trial{trial}"
        folder.mkdir()
        _plant(folder)
        server = SmtpServer().start()
        try:
            server.box.hold_data = threading.Event()  # saves the message, then holds the 250
            cfg = _config(folder, server.port)
            _kill_when(server.box.saved, cfg, folder / "run.log")
            with Store.open(folder / "sw.db") as store:
                (row,) = store.outbox.rows()
            # the attempt was on record, and so was the moment the text went out
            assert row["status"] == "sending" and row["data_started_at"] and row["message_id"]
            server.box.hold_data.set()  # the answer goes to a dead socket
            again = _run_to_end(cfg)
            assert again.returncode == 1, again.stderr
            assert "in doubt" in again.stderr and f"stresswatch alerts drop {row['id']}" in again.stderr
            assert "Traceback" not in again.stderr
            time.sleep(0.5)  # nothing more is on its way
            copies.append(len(server.box.received))
            assert _message_ids(server) == [row["message_id"]]
            with Store.open(folder / "sw.db") as store:
                (held,) = store.outbox.rows()
            assert held["status"] == "in_doubt" and held["message_id"] == row["message_id"]
            if trial == 0:
                _operator_sees_and_drops_it(folder, cfg, held, server, monkeypatch, capsys)
        finally:
            server.stop()
    assert copies == [1] * TRIALS


def _operator_sees_and_drops_it(folder: Path, cfg: Path, held: dict, server: SmtpServer, monkeypatch,
                                capsys) -> None:
    env = {"STRESSWATCH_CONFIG": str(cfg)}
    capsys.readouterr()
    code, _out = run_cli(monkeypatch, env, "alerts", "list")
    assert code == 0 and "is in doubt" in capsys.readouterr().err
    code, out = run_cli(monkeypatch, env, "alerts", "outbox", "--status", "in_doubt", "--format", "json")
    assert code == 0 and [r["message_id"] for r in json.loads(out)] == [held["message_id"]]
    code, out = run_cli(monkeypatch, env, "status", "--format", "json")
    assert code == 0 and json.loads(out)["daemon"]["mail_in_doubt"] == 1
    code, _out = run_cli(monkeypatch, env, "alerts", "drop", str(held["id"]), "--reason", "found in the mailbox")
    assert code == 0
    with Store.open(folder / "sw.db") as store:
        row = store.outbox.find(str(held["id"]))
    assert row["status"] == "dropped" and row["resolution"].endswith("found in the mailbox")
    code, _out = run_cli(monkeypatch, env, "alerts", "drop", str(held["id"]))
    assert code == 2  # already dropped: a usage error naming its state
    # once dropped, the next run is clean and sends nothing
    final = _run_to_end(cfg)
    assert final.returncode == 0, final.stderr
    assert len(server.box.received) == 1


@pytest.mark.slow
def test_sigkill_before_data_resends_once(tmp_path):
    _plant(tmp_path)
    server = SmtpServer().start()
    try:
        server.box.hold_rcpt = threading.Event()  # the sender waits for the RCPT answer: no text sent yet
        cfg = _config(tmp_path, server.port)
        _kill_when(server.box.rcpt_seen, cfg, tmp_path / "run.log")
        with Store.open(tmp_path / "sw.db") as store:
            (row,) = store.outbox.rows()
        assert row["status"] == "sending" and row["data_started_at"] is None
        server.box.hold_rcpt.set()
        again = _run_to_end(cfg)
        assert again.returncode == 0, again.stderr
        assert _message_ids(server) == [row["message_id"]]
        with Store.open(tmp_path / "sw.db") as store:
            assert store.outbox.rows()[0]["status"] == "sent"
    finally:
        server.stop()


def test_no_answer_after_the_text_is_in_doubt_then_resend_or_drop(tmp_path, store):
    server = SmtpServer().start()
    try:
        server.box.hold_data = threading.Event()  # saved, answered only after the client gave up
        s = mail_settings(tmp_path, server.port, **{"mail.timeout": 1.0})
        queue(store, s)
        r = deliver(store, s, CLOCK)
        assert (r.sent, r.deferred, r.in_doubt) == (0, 0, 1) and not r.ok
        assert "alerts resend 1" in r.errors[0] and "Message-ID <" in r.errors[0]
        server.box.hold_data.set()
        assert deliver(store, s, CLOCK, respect_backoff=False).in_doubt == 1  # held, not retried
        assert len(server.box.received) == 1
        # the operator checked the mailbox and decides: resend sends a second copy, on purpose
        server.box.hold_data = None
        resend(store, "digest:2022-03-01", CLOCK, who="ops")
        r = deliver(store, s, CLOCK, respect_backoff=False)
        assert (r.sent, r.in_doubt) == (1, 0) and r.ok
        assert len(server.box.received) == 2
        row = store.outbox.rows()[0]
        assert row["status"] == "sent" and row["resolution"].startswith("resent by ops")
        with pytest.raises(UsageError, match="is sent"):
            drop(store, "1", CLOCK)
    finally:
        server.stop()
