"""A same-day rerun after the sources came back: the alerts of D are evaluated again from their
state before D, the stale alert resolves and the stress alert fires, one mail per transition, and
nothing is mailed twice -- through the real CLI, against the real replay of every source
(tests/fakes/replay.py, ../shared; skipped without it) and a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import json

import pytest

from stresswatch.store import Store
from tests.conftest import run_cli, shared_path
from tests.fakes.smtp import SmtpServer

D = "2022-03-01"  # the week the ruble lost a third of its value: the headline model says stress


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def replay():
    shared = shared_path("data", "real")
    from tests.fakes.replay import Replay

    with Replay(shared=shared) as running:
        yield running


def _alerts(monkeypatch, env, cfg) -> dict[str, dict]:
    code, text = run_cli(monkeypatch, env, "--config", str(cfg), "alerts", "list", "--format", "json")
    assert code == 0
    return {a["rule"]: a for a in json.loads(text)}


@pytest.mark.slow
def test_rerun_after_sources_came_back_resolves_stale_fires_stress_one_mail_each(tmp_path, replay, smtp,
                                                                                  monkeypatch, capsys):
    cfg = replay.write_config(tmp_path / "sw.toml", tmp_path / "sw.db", extra=f"""
[daemon]
timezone = "Europe/Moscow"

[report]
out = "{tmp_path / 'reports'}"

[mail]
host = "127.0.0.1"
port = {smtp.port}
starttls = false
sender = "stresswatch@example.org"
recipients = ["analyst@example.org"]
""")
    # the floating-era history only (a shorter fit), and no retries against the outage
    env = {"STRESSWATCH_SOURCES__CBR__HISTORY_START": "2013-01-01", "STRESSWATCH_HTTP__RETRIES": "0"}

    # 1. every source answers 503: fetch fails, Bank of Russia data are stale -> one mail
    replay.outage(True)
    code, out = run_cli(monkeypatch, env, "--config", str(cfg), "run", "--date", D, "--format", "json")
    first = json.loads(out)
    assert code == 1 and first["failed_steps"] == ["fetch"]
    alerts = _alerts(monkeypatch, env, cfg)
    assert alerts["cbr-stale"]["state"] == "firing"
    assert alerts["stress-regime"]["muted_by"].startswith("cbr-stale")
    assert [m["Subject"] for m in smtp.box.messages()] == [
        f"[stresswatch] FIRING cbr-stale: no cbr data known on {D}; fetch failed on the last 1 run(s) ({D})"]

    # 2. the sources are back: fetch brings the history, compute fits the model, and the alerts of D
    #    are evaluated again: the stale alert resolves, the stress alert fires -> one more mail
    replay.outage(False)
    code, out = run_cli(monkeypatch, env, "--config", str(cfg), "run", "--date", D, "--format", "json")
    second = json.loads(out)
    assert code == 0, second["summary"]
    steps = {s["step"]: s for s in second["steps"]}
    assert [s["status"] for s in second["steps"]] == ["success"] * 6
    assert steps["alerts"]["detail"]["reevaluated"] is True
    assert sorted(steps["alerts"]["detail"]["transitions"]) == ["cbr-stale: firing -> inactive",
                                                                "stress-regime: inactive -> firing"]
    assert steps["alerts"]["note"].startswith("re-evaluated: ")
    assert steps["mail"]["note"] == "sent 1 message(s)"
    alerts = _alerts(monkeypatch, env, cfg)
    assert alerts["cbr-stale"]["state"] == "inactive" and alerts["cbr-stale"]["muted_by"] is None
    assert alerts["stress-regime"]["state"] == "firing" and alerts["stress-regime"]["muted_by"] is None
    assert alerts["stress-regime"]["since"] == D
    mails = smtp.box.messages()
    assert len(mails) == 2
    revised = mails[1]
    assert revised["Subject"] == f"[stresswatch] 1 firing, 1 resolved ({D}, revised)"
    plain = revised.get_body(("plain",)).get_content()
    firing, _, resolved = plain.partition("Resolved:")
    assert "Firing (new):" in firing and "stress-regime" in firing and "cbr-stale" not in firing
    assert "cbr-stale" in resolved and "stress-regime" not in resolved.split("Report:")[0]

    # the history says what happened on D, in order; the outbox holds one digest per evaluation
    code, text = run_cli(monkeypatch, env, "--config", str(cfg), "alerts", "history", "--format", "json")
    changes = [(h["rule_id"], h["from_state"], h["to_state"]) for h in reversed(json.loads(text))]
    assert changes == [("cbr-stale", "inactive", "firing"), ("cbr-stale", "firing", "inactive"),
                       ("stress-regime", "inactive", "firing")]
    code, text = run_cli(monkeypatch, env, "--config", str(cfg), "alerts", "outbox", "--format", "json")
    assert [(m["dedup_key"], m["status"]) for m in json.loads(text)] == [(f"digest:{D}", "sent"),
                                                                         (f"digest:{D}#2", "sent")]

    # 3. the same command again: every step done, nothing sent
    code, out = run_cli(monkeypatch, env, "--config", str(cfg), "run", "--date", D, "--format", "json")
    assert code == 0 and [s["status"] for s in json.loads(out)["steps"]] == ["done"] * 6
    assert len(smtp.box.received) == 2

    # 4. --force redoes every step; the alerts are evaluated again from their state before D, so the
    #    stress alert's count is not advanced twice, nothing changes and nothing is mailed
    with Store.open(tmp_path / "sw.db") as store:
        before = {s.rule_id: s for s in store.alerts.states()}
    code, out = run_cli(monkeypatch, env, "--config", str(cfg), "run", "--date", D, "--force", "--format", "json")
    forced = json.loads(out)
    assert code == 0 and [s["status"] for s in forced["steps"]] == ["success"] * 6
    forced_alerts = {s["step"]: s for s in forced["steps"]}["alerts"]
    assert forced_alerts["detail"]["transitions"] == [] and forced_alerts["detail"]["queued"] is False
    with Store.open(tmp_path / "sw.db") as store:
        after = {s.rule_id: s for s in store.alerts.states()}
    assert after["stress-regime"].high_count == before["stress-regime"].high_count == 1
    assert after == before  # states, counts, bases and what was notified: all as they were
    assert len(smtp.box.received) == 2
    capsys.readouterr()
