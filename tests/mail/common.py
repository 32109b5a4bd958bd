"""Shared by the mail tests: settings pointing at the test SMTP server, a one-alert digest with the
headline model's probabilities planted, and queueing it."""

from __future__ import annotations

import datetime as dt

from stresswatch.alerts.machine import AlertState, plan_digest
from stresswatch.alerts.rules import Rule
from stresswatch.mail.delivery import enqueue
from stresswatch.mail.message import build_digest_message
from tests.conftest import settings_for
from tests.fakes.planted import business_days, episode, plant_probabilities

CLOCK = lambda: dt.datetime(2022, 3, 1, 16, 40, tzinfo=dt.timezone.utc)  # noqa: E731


def mail_settings(tmp_path, port, recipients=("ops@example.org",), **extra):
    return settings_for(tmp_path, **{"mail.host": "127.0.0.1", "mail.port": port, "mail.starttls": False,
                                     "mail.recipients": list(recipients), "mail.sender": "sw@example.org",
                                     "mail.timeout": 5.0, **extra})


def digest_for(store, s, day=dt.date(2022, 3, 1)):
    days = business_days(day - dt.timedelta(days=14), 11)
    plant_probabilities(store, "ruble_rt", episode(days, 5, 10))
    st = AlertState("fp", "stress-regime", {"model": "ruble_rt"}, state="firing", firing_since=day.isoformat(),
                    summary="ruble_rt P(stress) 0.90 > 0.50 (2022-03-01) <b>")
    digest, _ = plan_digest([st], {"stress-regime": Rule("stress-regime", "regime")}, day, set(), 0, True)
    return digest


def queue(store, s, key="digest:2022-03-01"):
    msg = build_digest_message(store, s, digest_for(store, s), CLOCK)
    with store.transaction():
        return enqueue(store, key, dt.date(2022, 3, 1), msg, s["mail"]["recipients"], CLOCK)
