"""The daily cycle over a planted stress episode with a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest

from stresswatch import cli
from stresswatch.app import daily
from stresswatch.mail.delivery import outbox_rows
from stresswatch.store import Store
from tests.conftest import settings_for
from tests.fakes.planted import business_days, episode, plant_probabilities
from tests.fakes.smtp import SmtpServer, free_port

CLOCK = lambda: dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)  # noqa: E731
DAYS = business_days(dt.date(2022, 2, 14), 22)
FIRST_HIGH, LAST_HIGH = 6, 12  # P(stress) 0.9 on DAYS[6..12], 0.05 otherwise


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _settings(tmp_path, port, **extra):
    off = {f"sources.{sid}.enabled": False for sid in settings_for(tmp_path).source_ids}
    rules = [{"id": "stress-regime", "kind": "regime", "model": "ruble_rt", "enter": 0.5, "exit": 0.3,
              "for_runs": 2, "clear_runs": 2}]
    return settings_for(tmp_path, **{
        **off, "alerts.rules": rules, "daemon.steps": ["fetch", "alerts", "mail"],
        "mail.host": "127.0.0.1", "mail.port": port, "mail.starttls": False, "mail.timeout": 5.0,
        "mail.recipients": ["analyst@example.org"], "mail.sender": "stresswatch@example.org",
        "mail.report_url": "https://reports.example.org", "report.out": str(tmp_path / "reports"), **extra})


@pytest.fixture
def planted(tmp_path):
    store = Store.open(tmp_path / "sw.db")
    plant_probabilities(store, "ruble_rt", episode(DAYS, FIRST_HIGH, LAST_HIGH))
    yield store
    store.close()


def test_episode_gives_one_firing_and_one_resolved_mail_and_rerun_sends_nothing(tmp_path, planted, smtp):
    s = _settings(tmp_path, smtp.port)
    results = [daily.run_day(planted, s, d, CLOCK) for d in DAYS]
    assert all(r.ok for r in results), [r.summary() for r in results if not r.ok]
    msgs = smtp.box.messages()
    assert len(msgs) == 2
    firing, resolved = msgs
    # fires on the second high run, resolves on the second low run
    assert firing["Subject"].startswith("[stresswatch] FIRING stress-regime") and DAYS[FIRST_HIGH + 1].isoformat() \
        in firing["Subject"]
    assert resolved["Subject"].startswith("[stresswatch] RESOLVED stress-regime") and \
        DAYS[LAST_HIGH + 2].isoformat() in resolved["Subject"]
    for msg, day in ((firing, DAYS[FIRST_HIGH + 1]), (resolved, DAYS[LAST_HIGH + 2])):
        assert msg["To"] == "analyst@example.org"
        plain = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert f"https://reports.example.org/{day.isoformat()}/report.html" in plain
        assert "ruble_rt P(stress)" in plain and "ruble_rt P(stress)" in html
        image = [p for p in msg.walk() if p.get_content_type() == "image/png"][0]
        assert f'cid:{image["Content-ID"].strip("<>")}' in html
        assert image.get_content().startswith(b"\x89PNG")
    assert "0.90 &gt; 0.50" in firing.get_body(("html",)).get_content()
    assert "0.05 &lt; 0.30" in resolved.get_body(("html",)).get_content()
    # every step is in the ledger; the same dates again repeat nothing and send nothing
    assert planted.ledger.get("day:alerts", DAYS[0].isoformat())["status"] == "success"
    again = [daily.run_day(planted, s, d, CLOCK) for d in DAYS]
    assert all(st.status == "done" for r in again for st in r.steps)
    assert len(smtp.box.received) == 2


def test_smtp_down_for_two_runs_then_up_delivers_queued_mail_once(tmp_path, planted, smtp):
    s = _settings(tmp_path, smtp.port)
    fire_day = DAYS[FIRST_HIGH + 1]
    for d in DAYS[:FIRST_HIGH + 2]:
        if d == fire_day:
            smtp.stop()
        r = daily.run_day(planted, s, d, CLOCK)
    assert not r.ok and [st.name for st in r.failed] == ["mail"]
    assert "queued for retry" in r.summary() and "mail failed" in r.summary()
    r2 = daily.run_day(planted, s, DAYS[FIRST_HIGH + 2], CLOCK)  # second run with the server down
    assert [st.name for st in r2.failed] == ["mail"]
    assert [row["status"] for row in outbox_rows(planted)] == ["pending"]
    smtp.start()
    r3 = daily.run_day(planted, s, DAYS[FIRST_HIGH + 3], CLOCK)
    assert r3.ok
    assert len(smtp.box.received) == 1 and "FIRING" in smtp.box.messages()[0]["Subject"]
    # rerunning the dates whose mail step failed: the step runs again, finds nothing to send
    for d in (fire_day, DAYS[FIRST_HIGH + 2]):
        again = daily.run_day(planted, s, d, CLOCK)
        assert again.ok and [st.status for st in again.steps] == ["done", "done", "success"]
    assert len(smtp.box.received) == 1


def test_failing_fetch_is_named_and_the_other_steps_still_run(tmp_path, planted, smtp):
    dead = f"http://127.0.0.1:{free_port()}"
    s = _settings(tmp_path, smtp.port, **{"sources.cbr.enabled": True, "sources.cbr.base_url": dead,
                                          "http.retries": 0, "sources.cbr.history_start": dt.date(2022, 1, 1)})
    r = daily.run_day(planted, s, DAYS[0], CLOCK)
    assert [st.name for st in r.failed] == ["fetch"]
    assert "cbr" in r.summary()
    assert [st.status for st in r.steps] == ["failed", "success", "success"]
    detail = json.loads(planted.ledger.get("day:fetch", DAYS[0].isoformat())["detail"])
    assert detail["failed_sources"] == ["cbr"]


def test_run_command_json_and_exit_codes(tmp_path, planted, smtp):
    s = _settings(tmp_path, smtp.port)
    cfg = tmp_path / "sw.toml"
    cfg.write_text(f"""
[store]
path = "{tmp_path / 'sw.db'}"
[daemon]
steps = ["fetch", "alerts", "mail"]
timezone = "UTC"
[mail]
host = "127.0.0.1"
port = {smtp.port}
starttls = false
recipients = ["analyst@example.org"]
[[alerts.rules]]
id = "stress-regime"
kind = "regime"
model = "ruble_rt"
""" + "".join(f"[sources.{sid}]\nenabled = false\n" for sid in s.source_ids))
    out = io.StringIO()
    assert cli.main(["--config", str(cfg), "run", "--date", DAYS[0].isoformat(), "--format", "json"], out=out) == 0
    payload = json.loads(out.getvalue())
    assert payload["ok"] is True and [x["step"] for x in payload["steps"]] == ["fetch", "alerts", "mail"]
    smtp.stop()
    out = io.StringIO()
    code = cli.main(["--config", str(cfg), "run", "--start", DAYS[1].isoformat(), "--end",
                     DAYS[FIRST_HIGH + 1].isoformat(), "--format", "json"], out=out)
    assert code == 1
    payload = json.loads(out.getvalue())
    assert payload[-1]["failed_steps"] == ["mail"]
    smtp.start()
    out = io.StringIO()
    assert cli.main(["--config", str(cfg), "run", "--date", DAYS[FIRST_HIGH + 2].isoformat()], out=out) == 0
    assert len(smtp.box.received) == 1
    out = io.StringIO()
    assert cli.main(["--config", str(cfg), "alerts", "history", "--format", "json"], out=out) == 0
    assert [h["to_state"] for h in json.loads(out.getvalue())][:2] == ["firing", "pending"]


def test_events_step_stores_the_alignment_the_report_then_reads(filled, tmp_path):
    from stresswatch import settings as settings_mod
    from stresswatch.clock import FixedClock
    from stresswatch.events import align as ev_align
    from stresswatch.reports.context import ContextBuilder
    from stresswatch.reports.sections.statements import statements
    from tests.fakes.report_data import REPORT_DAY as D

    store = filled["store"]
    s = settings_mod.load(filled["config"], environ={}, overrides={
        "daemon.steps": ["events", "report"], "report.out": str(tmp_path / "reports")})
    clock = FixedClock("2023-08-16T18:00:00Z")
    assert store.alignments.get(D) is None
    result = daily.run_day(store, s, D, clock)
    assert result.ok, result.summary()
    assert [st.rows for st in result.steps][0] == 2  # both catalogue statements have an event day
    saved = store.alignments.get(D)
    assert [r["id"] for r in saved.statements] == ["early-statement-2022", "hostile-text-2023"]
    assert saved.model_id == "t2" and saved.statistic == "abnormal"
    assert ev_align.stored(store, s, D).stored
    # the report written by the cycle shows what the stored alignment holds, and the section is the
    # same as one aligned from scratch
    written = json.loads((tmp_path / "reports" / D.isoformat() / "report.json").read_text())
    builder = ContextBuilder(store, s, clock=clock, write_snapshots=False)
    from_stored = statements(store, s, D, builder.regime(D), builder.catalogue())
    assert written["statements"] == json.loads(json.dumps(from_stored))
    store.alignments.delete(D)
    assert ev_align.stored(store, s, D) is None
    assert statements(store, s, D, builder.regime(D), builder.catalogue()) == from_stored
    # an alignment made with other study settings (or another catalogue) is not used
    daily.align_for_day(store, s, D)
    other = settings_mod.load(filled["config"], environ={}, overrides={"events.placebos": 300})
    assert ev_align.stored(store, s, D) is not None and ev_align.stored(store, other, D) is None


def test_mail_off_is_said_in_words_not_as_success_with_0_rows(tmp_path, planted, capsys):
    s = settings_for(tmp_path, **{f"sources.{sid}.enabled": False for sid in settings_for(tmp_path).source_ids},
                     **{"daemon.steps": ["fetch", "alerts", "mail"]})
    cfg = tmp_path / "off.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n[daemon]\nsteps = ["fetch", "alerts", "mail"]\n'
                   + "".join(f"[sources.{sid}]\nenabled = false\n" for sid in s.source_ids), encoding="utf-8")
    out = io.StringIO()
    assert cli.main(["--config", str(cfg), "run", "--date", DAYS[0].isoformat()], out=out) == 0
    mail_row = [ln for ln in out.getvalue().splitlines() if " mail " in ln][0]
    assert mail_row.split()[:3] == [DAYS[0].isoformat(), "mail", "off"]
    assert mail_row.rstrip().endswith("mail off (no recipients)") and "success" not in mail_row
    log_line = [ln for ln in capsys.readouterr().err.splitlines() if "stresswatch.app.daily" in ln][-1]
    assert re.search(r"day \S+ mail +off in \d\.\d\ds: mail off \(no recipients\)$", log_line)
    # the ledger keeps it as done for the day; a rerun shows the same words
    assert planted.ledger.get("day:mail", DAYS[0].isoformat())["status"] == "success"
    result = daily.run_day(planted, s, DAYS[0], CLOCK)
    assert result.ok and [(st.status, st.note) for st in result.steps][-1] == ("done", "mail off (no recipients)")


def test_force_runs_every_step_again_and_sends_nothing_twice(tmp_path, planted, smtp):
    s = _settings(tmp_path, smtp.port)
    for d in DAYS[:FIRST_HIGH + 2]:
        assert daily.run_day(planted, s, d, CLOCK).ok
    assert len(smtp.box.received) == 1  # FIRING on DAYS[FIRST_HIGH + 1]
    forced = daily.run_day(planted, s, DAYS[FIRST_HIGH + 1], CLOCK, force=True)
    assert forced.ok and [st.status for st in forced.steps] == ["success", "success", "success"]
    alerts = forced.steps[1]
    assert alerts.detail["reevaluated"] is True and alerts.detail["transitions"] == []
    assert alerts.note == "re-evaluated: no alert changed state"
    assert forced.steps[2].note == "nothing to send"
    assert len(smtp.box.received) == 1


def test_the_reader_steps_share_the_regime_state_of_d(filled, tmp_path, monkeypatch):
    """events, report and alerts all read the headline model's state as of D: it is built once (and
    D-1's once, for the report's change since the previous report), and the report and the alert
    show what a fresh read gives."""
    from stresswatch import settings as settings_mod
    from stresswatch.clock import FixedClock
    from stresswatch.regimes import state as state_mod
    from tests.fakes.report_data import REPORT_DAY as D

    store = filled["store"]
    s = settings_mod.load(filled["config"], environ={}, overrides={
        "daemon.steps": ["events", "report", "alerts"], "report.out": str(tmp_path / "reports"),
        "alerts.rules": [{"id": "stress-regime", "kind": "regime", "model": "", "enter": 0.5, "exit": 0.3}]})
    built: list[dt.date] = []
    real = state_mod.build_history
    monkeypatch.setattr(state_mod, "build_history", lambda st, run, policy: built.append(run.asof) or real(st, run, policy))
    result = daily.run_day(store, s, D, FixedClock("2023-08-16T18:00:00Z"), force=True)
    assert result.ok, result.summary()
    assert [x.name for x in result.steps] == ["events", "report", "alerts"]
    in_cycle = list(built)
    fresh = state_mod.regime_state(store, s, D)
    assert in_cycle.count(fresh.run.asof) == 1  # D's run: once for the three steps
    assert len(in_cycle) <= 2  # and at most D-1's run besides (this store has no run before D)
    written = json.loads((tmp_path / "reports" / D.isoformat() / "report.json").read_text())
    assert written["headline"]["p_stress_filtered"] == fresh.p_stress_filtered
    assert written["headline"]["regime"] == fresh.regime
    history = store.alerts.history("stress-regime", 5)
    assert history and history[0]["value"] == fresh.p_stress_filtered
