"""Mail building and outbox delivery against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import email
import json
import smtplib
from email import policy

import pytest

from stresswatch import alerts, mail
from stresswatch.errors import DeliveryError
from tests.conftest import settings_for
from tests.fakes.planted import business_days, episode, plant_probabilities
from tests.fakes.smtp import SmtpServer

CLOCK = lambda: dt.datetime(2022, 3, 1, 16, 40, tzinfo=dt.timezone.utc)  # noqa: E731


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def _settings(tmp_path, port, recipients=("ops@example.org",), **extra):
    return settings_for(tmp_path, **{"mail.host": "127.0.0.1", "mail.port": port, "mail.starttls": False,
                                     "mail.recipients": list(recipients), "mail.sender": "sw@example.org",
                                     "mail.timeout": 5.0, **extra})


def _digest(store, s, day=dt.date(2022, 3, 1)):
    days = business_days(day - dt.timedelta(days=14), 11)
    plant_probabilities(store, "ruble3", episode(days, 5, 10))
    st = alerts.AlertState("fp", "stress-regime", {"model": "ruble3"}, state="firing", firing_since=day.isoformat(),
                           summary="ruble3 P(stress) 0.90 > 0.50 (2022-03-01) <b>")
    digest, _ = alerts.plan_digest([st], {"stress-regime": alerts.Rule("stress-regime", "regime")}, day, set(), 0,
                                   True)
    return digest


def test_digest_message_structure_cid_and_report_link(tmp_path, store, smtp):
    s = _settings(tmp_path, smtp.port, **{"mail.report_url": "https://reports.example.org/sw/"})
    msg = mail.build_digest_message(store, s, _digest(store, s), CLOCK)
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(("plain",)).get_content()
    html_part = parsed.get_body(("html",))
    html = html_part.get_content()
    assert "FIRING stress-regime" in parsed["Subject"]
    assert "ruble3 P(stress) 0.90 > 0.50" in plain
    assert "https://reports.example.org/sw/2022-03-01/report.html" in plain
    assert 'href="https://reports.example.org/sw/2022-03-01/report.html"' in html
    assert "&lt;b&gt;" in html and "<b>" not in html.replace("<body", "")  # autoescaped summary
    related = parsed.get_payload()[1]
    assert related.get_content_type() == "multipart/related"
    image = [p for p in related.iter_parts() if p.get_content_type() == "image/png"][0]
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html
    assert image.get_content()[:8] == b"\x89PNG\r\n\x1a\n"
    assert parsed["Message-ID"] and parsed["Date"]


def test_report_chart_preferred_and_path_without_url(tmp_path, store, smtp):
    s = _settings(tmp_path, smtp.port, **{"report.out": str(tmp_path / "reports")})
    charts = tmp_path / "reports" / "2022-03-01" / "charts"
    charts.mkdir(parents=True)
    png = mail._probability_chart(store, s, dt.date(2022, 3, 1))[0] or b""
    (charts / "stress_index_1y.png").write_bytes(b"\x89PNG\r\n\x1a\nreport-chart")
    msg = mail.build_digest_message(store, s, _digest(store, s), CLOCK)
    parsed = email.message_from_bytes(msg.as_bytes(), policy=policy.default)
    image = [p for p in parsed.walk() if p.get_content_type() == "image/png"][0]
    assert image.get_content() == b"\x89PNG\r\n\x1a\nreport-chart" != png
    assert str(tmp_path / "reports" / "2022-03-01" / "report.html") in parsed.get_body(("plain",)).get_content()


def _queue(store, s, key="digest:2022-03-01"):
    msg = mail.build_digest_message(store, s, _digest(store, s), CLOCK)
    with store.transaction():
        return mail.enqueue(store, key, dt.date(2022, 3, 1), msg, s["mail"]["recipients"], CLOCK)


def test_outbox_dedup_and_delivery_once(tmp_path, store, smtp):
    s = _settings(tmp_path, smtp.port)
    assert _queue(store, s) is True
    assert _queue(store, s) is False  # same dedup key: not queued twice
    r1 = mail.deliver(store, s, CLOCK)
    r2 = mail.deliver(store, s, CLOCK)
    assert (r1.sent, r2.sent) == (1, 0)
    assert len(smtp.box.received) == 1
    row = mail.outbox_rows(store)[0]
    assert row["status"] == "sent" and json.loads(row["pending_recipients"]) == []


def test_server_down_keeps_mail_then_delivers_once(tmp_path, store, smtp):
    s = _settings(tmp_path, smtp.port)
    smtp.stop()
    _queue(store, s)
    r = mail.deliver(store, s, CLOCK)
    assert r.deferred == 1 and not r.ok and "cannot reach" in r.errors[0]
    row = mail.outbox_rows(store)[0]
    assert row["status"] == "pending" and row["attempts"] == 1 and row["next_attempt_at"] > row["created_at"]
    # backoff: a retry tick before next_attempt_at does nothing, a daily run (no backoff) tries
    assert mail.deliver(store, s, CLOCK, respect_backoff=True).deferred == 0
    smtp.start()
    later = lambda: CLOCK() + dt.timedelta(minutes=2)  # noqa: E731
    assert mail.deliver(store, s, later, respect_backoff=True).sent == 1
    assert mail.deliver(store, s, later, respect_backoff=False).sent == 0
    assert len(smtp.box.received) == 1


def test_refused_recipient_is_retried_alone(tmp_path, store, smtp):
    s = _settings(tmp_path, smtp.port, recipients=("a@example.org", "b@example.org"))
    smtp.box.refuse["b@example.org"] = 1
    _queue(store, s)
    r1 = mail.deliver(store, s, CLOCK)
    assert r1.partial == 1 and r1.sent == 0
    row = mail.outbox_rows(store)[0]
    assert row["status"] == "pending" and json.loads(row["pending_recipients"]) == ["b@example.org"]
    r2 = mail.deliver(store, s, CLOCK, respect_backoff=False)
    assert r2.sent == 1
    assert sorted(r for r, _subj in smtp.box.deliveries()) == ["a@example.org", "b@example.org"]


def test_permanent_refusal_gives_up_and_max_attempts(tmp_path, store, smtp):
    s = _settings(tmp_path, smtp.port, **{"mail.max_attempts": 2})
    smtp.stop()
    _queue(store, s)
    mail.deliver(store, s, CLOCK)
    r = mail.deliver(store, s, CLOCK, respect_backoff=False)
    assert r.failed == 1
    assert mail.outbox_rows(store)[0]["status"] == "failed"


def test_send_test_and_password_never_in_errors(tmp_path, store, smtp, monkeypatch):
    s = _settings(tmp_path, smtp.port)
    out = mail.send_test(store, s, dt.date(2022, 3, 1), CLOCK)
    assert out["accepted"] == ["ops@example.org"]
    assert "test message" in smtp.box.messages()[0]["Subject"]
    # a login is required but the server offers no AUTH: the error must not carry the password
    monkeypatch.setenv("STRESSWATCH_SMTP_PASSWORD", "MARKER-s3cret-MARKER")
    s2 = _settings(tmp_path, smtp.port, **{"mail.username": "ops"})
    with pytest.raises(DeliveryError) as info:
        mail.send_test(store, s2, dt.date(2022, 3, 1), CLOCK)
    assert "MARKER" not in str(info.value)
    off = settings_for(tmp_path)
    with pytest.raises(DeliveryError, match="recipients"):
        mail.send_test(store, off, dt.date(2022, 3, 1), CLOCK)


def test_password_sources(tmp_path):
    assert mail.smtp_password({"STRESSWATCH_SMTP_PASSWORD": "x"}) == "x"
    f = tmp_path / "pw"
    f.write_text("from-file\n")
    assert mail.smtp_password({"STRESSWATCH_SMTP_PASSWORD_FILE": str(f)}) == "from-file"
    (tmp_path / "smtp_password").write_text("cred")
    assert mail.smtp_password({"CREDENTIALS_DIRECTORY": str(tmp_path)}) == "cred"
    assert mail.smtp_password({}) is None


def test_loopback_relay_without_starttls_is_allowed(tmp_path, store, smtp):
    """A relay on this machine may lack STARTTLS (elsewhere that is a DeliveryError)."""
    s = settings_for(tmp_path, **{"mail.host": "localhost", "mail.port": smtp.port, "mail.starttls": True,
                                  "mail.recipients": ["x@example.org"], "mail.timeout": 5.0})
    smtp_conn = mail.connect(s)  # localhost: allowed without STARTTLS
    smtp_conn.quit()
    assert isinstance(smtp_conn, smtplib.SMTP)
