"""The outbox side of mail: queueing a message, draining the outbox over SMTP, the test message.

A message enters the `outbox` table (`store.outbox`) in the caller's transaction (`enqueue`, e.g.
with the alert-state change that caused it); `deliver()` drains it: one SMTP session per drain,
refused recipients kept and retried alone, transient failures retried with back-off
(BACKOFF_MINUTES), nothing marked sent before the server accepted it, each row's outcome
committed right after the server answered. `send_test` sends a test message at once, outside
the outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any, Callable, Mapping, Sequence

from stresswatch.errors import DeliveryError
from stresswatch.clock import utc_stamp
from stresswatch.mail.message import build_test_message
from stresswatch.mail.smtp import Transient, close, connect, reply_text, scrub
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.store.outbox import OutboxMessage, OutboxRow

log = logging.getLogger(__name__)

#: delay before attempt n+1 after n failed attempts (minutes), capped at the last value
BACKOFF_MINUTES = (1, 5, 30, 120, 360, 720, 1440)

Clock = Callable[[], dt.datetime]


def enqueue(store: Store, dedup_key: str, run_date: dt.date | None, msg: EmailMessage, recipients: Sequence[str],
            clock: Clock) -> bool:
    """Queue `msg` (inside the caller's open transaction, if any); False when `dedup_key` is
    already queued."""
    if not recipients:
        raise DeliveryError("no recipients: set [mail] recipients")
    return store.outbox.enqueue(dedup_key=dedup_key, run_date=run_date, sender=str(msg["From"]),
                                recipients=recipients, subject=str(msg["Subject"]),
                                mime=msg.as_bytes(policy=policy.SMTP), now=utc_stamp(clock()))


def outbox_rows(store: Store, status: str | None = None) -> list[OutboxRow]:
    """Outbox messages (with one status, or all), oldest first, without their bodies."""
    return store.outbox.rows(status)


@dataclass
class DeliveryResult:
    """What one drain of the outbox did."""

    sent: int = 0
    partial: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.deferred == 0 and self.failed == 0 and self.partial == 0

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "partial": self.partial, "deferred": self.deferred, "failed": self.failed,
                "errors": self.errors}


def _next_attempt(now: dt.datetime, attempts: int) -> str:
    minutes = BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1] if attempts > 0 else 0
    return utc_stamp(now + dt.timedelta(minutes=minutes))


def deliver(store: Store, settings: Settings, clock: Clock, *, respect_backoff: bool = True,
            environ: Mapping[str, str] | None = None) -> DeliveryResult:
    """Send every pending outbox message (due ones only when `respect_backoff`).

    A daily run passes `respect_backoff=False` (the run is itself the slow retry); the daemon's
    retry ticks between runs respect the backoff. Each row's outcome is committed right after the
    server answered, so a crash can at worst repeat the one message in flight.
    """
    result = DeliveryResult()
    now = clock()
    rows = store.outbox.due(utc_stamp(now) if respect_backoff else None)
    if not rows:
        return result
    max_attempts = settings["mail"]["max_attempts"]
    try:
        smtp = connect(settings, environ)
    except DeliveryError as exc:  # Transient included: every message stays queued for a later attempt
        text = scrub(str(exc), environ)
        log.warning("mail: %s; %d message(s) stay queued", text, len(rows))
        with store.transaction():
            for row in rows:
                _fail_row(store, row, text, now, max_attempts, result, permanent=False)
        result.errors.append(text)
        return result
    try:
        for row in rows:
            _send_row(store, smtp, row, now, max_attempts, result, environ)
    finally:
        close(smtp)
    return result


def _fail_row(store: Store, row: OutboxMessage, error: str, now: dt.datetime, max_attempts: int,
              result: DeliveryResult, permanent: bool, pending: Sequence[str] | None = None) -> None:
    attempts = row.attempts + 1
    give_up = permanent or attempts >= max_attempts
    store.outbox.record_attempt(row.id, attempts=attempts, give_up=give_up,
                                next_attempt_at=_next_attempt(now, attempts),
                                error=error, pending=pending)
    if give_up:
        result.failed += 1
        log.error("mail %s (%s): given up after %d attempt(s): %s", row.dedup_key, row.subject, attempts, error)
    else:
        result.deferred += 1


def _send_row(store: Store, smtp: smtplib.SMTP, row: OutboxMessage, now: dt.datetime, max_attempts: int,
              result: DeliveryResult, environ: Mapping[str, str] | None) -> None:
    pending = list(row.pending_recipients)
    try:
        refused = smtp.sendmail(row.sender, pending, row.mime)
    except smtplib.SMTPRecipientsRefused as exc:
        refused = exc.recipients
        accepted: list[str] = []
    except smtplib.SMTPResponseException as exc:
        text = scrub(f"{exc.smtp_code} {reply_text(exc.smtp_error)}", environ)
        _fail_row(store, row, text, now, max_attempts, result, permanent=exc.smtp_code >= 500)
        result.errors.append(f"{row.dedup_key}: {text}")
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            pass  # the session is beyond reset: the next row's send fails and is deferred the same way
        return
    except (smtplib.SMTPException, OSError) as exc:
        text = scrub(f"{exc.__class__.__name__}: {exc}", environ)
        _fail_row(store, row, text, now, max_attempts, result, permanent=False)
        result.errors.append(f"{row.dedup_key}: {text}")
        return
    else:
        accepted = [r for r in pending if r not in refused]
    # keep only refusals worth retrying (4xx); a 5xx refusal is final for that address
    retry = [r for r, (code, _msg) in refused.items() if code < 500]
    rejected = {r: f"{code} {reply_text(msg)}" for r, (code, msg) in refused.items() if code >= 500}
    if not refused:
        store.outbox.mark_sent(row.id, utc_stamp(now))
        result.sent += 1
        log.info("mail %s sent to %d recipient(s): %s", row.dedup_key, len(pending), row.subject)
        return
    text = "refused: " + "; ".join(f"{r} {code} {reply_text(m)}" for r, (code, m) in refused.items())
    if retry:
        _fail_row(store, row, text, now, max_attempts, result, permanent=False, pending=retry)
        if accepted:
            result.partial += 1
    else:
        store.outbox.mark_failed(row.id, text, utc_stamp(now) if accepted else None)
        result.failed += 1
    log.warning("mail %s: accepted for %d, %s", row.dedup_key, len(accepted), text)
    if rejected:
        result.errors.append(f"{row.dedup_key}: rejected {', '.join(rejected)}")
    if retry:
        result.errors.append(f"{row.dedup_key}: will retry {', '.join(retry)}")


def send_test(store: Store | None, settings: Settings, day: dt.date, clock: Clock,
              environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Send a test message now (not through the outbox); raise DeliveryError when it fails."""
    recipients = list(settings["mail"]["recipients"])
    if not recipients:
        raise DeliveryError("mail is off: set [mail] recipients to send a test message")
    msg = build_test_message(store, settings, day, clock)
    try:
        smtp = connect(settings, environ)
    except Transient as exc:
        raise DeliveryError(scrub(str(exc), environ)) from None
    try:
        try:
            refused = smtp.send_message(msg, from_addr=settings["mail"]["sender"], to_addrs=recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(scrub(f"sending the test message failed: {exc}", environ)) from None
    finally:
        close(smtp)
    accepted = [r for r in recipients if r not in refused]
    if not accepted:
        raise DeliveryError("every recipient was refused: " + "; ".join(
            f"{r} {c} {reply_text(m)}" for r, (c, m) in refused.items()))
    return {"subject": str(msg["Subject"]), "accepted": accepted,
            "refused": {r: f"{c} {reply_text(m)}" for r, (c, m) in refused.items()}}
