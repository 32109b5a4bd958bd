"""The outbox and its delivery (mail.delivery) against a real SMTP server (aiosmtpd on 127.0.0.1):
dedup, server down, refused recipients, giving up, the test message."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from stresswatch.errors import DeliveryError
from stresswatch.mail.delivery import deliver, outbox_rows, send_test
from tests.conftest import settings_for
from tests.mail.common import CLOCK, mail_settings, queue


def test_outbox_dedup_and_delivery_once(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port)
    assert queue(store, s) is True
    assert queue(store, s) is False  # same dedup key: not queued twice
    r1 = deliver(store, s, CLOCK)
    r2 = deliver(store, s, CLOCK)
    assert (r1.sent, r2.sent) == (1, 0)
    assert len(smtp.box.received) == 1
    row = outbox_rows(store)[0]
    assert row["status"] == "sent" and json.loads(row["pending_recipients"]) == []


def test_server_down_keeps_mail_then_delivers_once(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port)
    smtp.stop()
    queue(store, s)
    r = deliver(store, s, CLOCK)
    assert r.deferred == 1 and not r.ok and "cannot reach" in r.errors[0]
    row = outbox_rows(store)[0]
    assert row["status"] == "pending" and row["attempts"] == 1 and row["next_attempt_at"] > row["created_at"]
    # backoff: a retry tick before next_attempt_at does nothing, a daily run (no backoff) tries
    assert deliver(store, s, CLOCK, respect_backoff=True).deferred == 0
    smtp.start()
    later = lambda: CLOCK() + dt.timedelta(minutes=2)  # noqa: E731
    assert deliver(store, s, later, respect_backoff=True).sent == 1
    assert deliver(store, s, later, respect_backoff=False).sent == 0
    assert len(smtp.box.received) == 1


def test_refused_recipient_is_retried_alone(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port, recipients=("a@example.org", "b@example.org"))
    smtp.box.refuse["b@example.org"] = 1
    queue(store, s)
    r1 = deliver(store, s, CLOCK)
    assert r1.partial == 1 and r1.sent == 0
    row = outbox_rows(store)[0]
    assert row["status"] == "pending" and json.loads(row["pending_recipients"]) == ["b@example.org"]
    r2 = deliver(store, s, CLOCK, respect_backoff=False)
    assert r2.sent == 1
    assert sorted(r for r, _subj in smtp.box.deliveries()) == ["a@example.org", "b@example.org"]


def test_permanent_refusal_gives_up_and_max_attempts(tmp_path, store, smtp):
    s = mail_settings(tmp_path, smtp.port, **{"mail.max_attempts": 2})
    smtp.stop()
    queue(store, s)
    deliver(store, s, CLOCK)
    r = deliver(store, s, CLOCK, respect_backoff=False)
    assert r.failed == 1
    assert outbox_rows(store)[0]["status"] == "failed"


def test_send_test_and_password_never_in_errors(tmp_path, store, smtp, monkeypatch):
    s = mail_settings(tmp_path, smtp.port)
    out = send_test(store, s, dt.date(2022, 3, 1), CLOCK)
    assert out["accepted"] == ["ops@example.org"]
    assert "test message" in smtp.box.messages()[0]["Subject"]
    # a login is required but the server offers no AUTH: the error must not carry the password
    monkeypatch.setenv("STRESSWATCH_SMTP_PASSWORD", "MARKER-s3cret-MARKER")
    s2 = mail_settings(tmp_path, smtp.port, **{"mail.username": "ops"})
    with pytest.raises(DeliveryError) as info:
        send_test(store, s2, dt.date(2022, 3, 1), CLOCK)
    assert "MARKER" not in str(info.value)
    off = settings_for(tmp_path)
    with pytest.raises(DeliveryError, match="recipients"):
        send_test(store, off, dt.date(2022, 3, 1), CLOCK)
