"""The outbox side of mail: queueing a message, draining the outbox over SMTP (exactly once as far
as SMTP allows), the operator's resend / drop, the test message.

A message enters the `outbox` table (`store.outbox`) in the caller's transaction (`enqueue`, e.g.
with the alert-state change that caused it); `deliver()` drains it: one SMTP session per drain,
refused recipients kept and retried alone, transient failures retried with back-off
(BACKOFF_MINUTES), nothing marked sent before the server accepted it, each row's outcome
committed right after the server answered.

Exactly once (docs/operations.md, "Exactly-once mail"): each message is sent in steps - MAIL
FROM, RCPT TO, DATA - and its state is committed (synced to disk) twice: `sending` before MAIL
FROM, and "text going out" after the server's 354 answer to DATA, just before the text is sent.
A later `deliver()` first reconciles what a dead sender left: a message whose text never went out
is sent again; one whose text went out and whose answer is unknown is *in doubt* and is never
resent automatically - `resend` or `drop` (the `alerts resend|drop` commands) decide, after
someone looked for its Message-ID in the mailbox. The same holds in-process: no answer after the
text went out (timeout, connection lost) makes the message in doubt, not a retry. `deliver`,
`resend` and `drop` must run under the writer lock (`app.session.App.lock` or the daemon's).
`send_test` sends a test message at once, outside the outbox.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import smtplib
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from typing import Any, Callable, Mapping, Sequence

from stresswatch.errors import DeliveryError, UsageError
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
                                mime=msg.as_bytes(policy=policy.SMTP), now=utc_stamp(clock()),
                                message_id=str(msg["Message-ID"]) if msg["Message-ID"] else None)


def outbox_rows(store: Store, status: str | None = None) -> list[OutboxRow]:
    """Outbox messages (with one status, or all), oldest first, without their bodies."""
    return store.outbox.rows(status)


def in_doubt_text(row: Mapping[str, Any]) -> str:
    """One line telling the operator what an in-doubt message is and what to do."""
    return (f"mail {row['dedup_key']} (id {row['id']}) is in doubt: its text went to the server "
            f"{row.get('data_started_at') or ''} and no answer is known; look for Message-ID {row.get('message_id')} in "
            f"the mailbox, then `stresswatch alerts resend {row['id']}` or `stresswatch alerts drop {row['id']}`")


@dataclass
class DeliveryResult:
    """What one drain of the outbox did. `in_doubt`: messages held in doubt after the drain (new
    or older ones, waiting for an operator); `resumed`: interrupted attempts sent again."""

    sent: int = 0
    partial: int = 0
    deferred: int = 0
    failed: int = 0
    in_doubt: int = 0
    resumed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.deferred == 0 and self.failed == 0 and self.partial == 0 and self.in_doubt == 0

    def as_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "partial": self.partial, "deferred": self.deferred, "failed": self.failed,
                "in_doubt": self.in_doubt, "resumed": self.resumed, "errors": self.errors}


def _next_attempt(now: dt.datetime, attempts: int) -> str:
    minutes = BACKOFF_MINUTES[min(attempts, len(BACKOFF_MINUTES)) - 1] if attempts > 0 else 0
    return utc_stamp(now + dt.timedelta(minutes=minutes))


def deliver(store: Store, settings: Settings, clock: Clock, *, respect_backoff: bool = True,
            environ: Mapping[str, str] | None = None) -> DeliveryResult:
    """Reconcile interrupted attempts, then send every pending outbox message (due ones only when
    `respect_backoff`).

    A daily run passes `respect_backoff=False` (the run is itself the slow retry); the daemon's
    retry ticks between runs respect the backoff. Each row's outcome is committed right after the
    server answered; a message whose answer never came is held in doubt, never sent twice.
    """
    result = DeliveryResult()
    found = store.outbox.reconcile()
    result.resumed = len(found.resumed)
    for key in found.resumed:
        log.warning("mail %s: the last attempt stopped before the text went out; sending it again", key)
    now = clock()
    rows = store.outbox.due(utc_stamp(now) if respect_backoff else None)
    if rows:
        _drain(store, settings, rows, now, clock, result, environ)
    for row in store.outbox.rows("in_doubt"):
        result.in_doubt += 1
        text = in_doubt_text(row)
        result.errors.append(text)
        log.error("%s", text)
    return result


def _drain(store: Store, settings: Settings, rows: list[OutboxMessage], now: dt.datetime, clock: Clock,
           result: DeliveryResult, environ: Mapping[str, str] | None) -> None:
    max_attempts = settings["mail"]["max_attempts"]
    smtp: smtplib.SMTP | None = None
    try:
        for n, row in enumerate(rows):
            if smtp is None:
                try:
                    smtp = connect(settings, environ)
                except DeliveryError as exc:  # Transient included: the rest stays queued for a later attempt
                    text = scrub(str(exc), environ)
                    log.warning("mail: %s; %d message(s) stay queued", text, len(rows) - n)
                    with store.transaction():
                        for rest in rows[n:]:
                            _fail_row(store, rest, text, now, max_attempts, result, permanent=False)
                    result.errors.append(text)
                    return
            if not _send_row(store, smtp, row, now, clock, max_attempts, result, environ):
                close(smtp)  # the session is out of step with the server: a new one for the next row
                smtp = None
    finally:
        if smtp is not None:
            close(smtp)


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


def header_message_id(mime: bytes) -> str | None:
    """The Message-ID header of a stored message."""
    value = BytesHeaderParser(policy=policy.SMTP).parsebytes(mime)["Message-ID"]
    return str(value).strip() if value else None


def data_text(mime: bytes) -> bytes:
    """The message as sent after DATA: CRLF line ends, leading dots doubled (RFC 5321 4.5.2), and
    the terminating <CRLF>.<CRLF>."""
    text = re.sub(rb"\r\n|\r|\n", b"\r\n", mime)
    text = re.sub(rb"(?m)^\.", b"..", text)
    if not text.endswith(b"\r\n"):
        text += b"\r\n"
    return text + b".\r\n"


class _Refused(Exception):
    """Every pending recipient was refused at RCPT."""

    def __init__(self, refused: dict[str, tuple[int, bytes]]):
        super().__init__("every recipient refused")
        self.refused = refused


def _envelope(smtp: smtplib.SMTP, row: OutboxMessage) -> dict[str, tuple[int, bytes]]:
    """MAIL FROM and RCPT TO; the refused recipients. Raises the SMTP error of a refused sender
    and _Refused when no recipient is left."""
    code, resp = smtp.mail(row.sender)
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, resp, row.sender)
    refused: dict[str, tuple[int, bytes]] = {}
    for rcpt in row.pending_recipients:
        code, resp = smtp.rcpt(rcpt)
        if code not in (250, 251):
            refused[rcpt] = (code, resp)
    if len(refused) == len(row.pending_recipients):
        raise _Refused(refused)
    return refused


def _send_row(store: Store, smtp: smtplib.SMTP, row: OutboxMessage, now: dt.datetime, clock: Clock,
              max_attempts: int, result: DeliveryResult, environ: Mapping[str, str] | None) -> bool:
    """Send one message in steps, recording the attempt before MAIL FROM and before the text goes
    out. Returns False when the session cannot be used for another message."""
    pending = list(row.pending_recipients)
    usable = True
    store.outbox.begin_attempt(row.id, row.message_id or header_message_id(row.mime), utc_stamp(clock()))
    try:
        refused = _envelope(smtp, row)
        code, resp = smtp.docmd("DATA")
        if code != 354:
            raise smtplib.SMTPDataError(code, resp)
    except _Refused as exc:
        refused = exc.refused
        usable = _reset(smtp)
        accepted: list[str] = []
    except smtplib.SMTPResponseException as exc:  # the server said no before it had the text
        text = scrub(f"{exc.smtp_code} {reply_text(exc.smtp_error)}", environ)
        _fail_row(store, row, text, now, max_attempts, result, permanent=exc.smtp_code >= 500)
        result.errors.append(f"{row.dedup_key}: {text}")
        return _reset(smtp)
    except (smtplib.SMTPException, OSError) as exc:  # lost before the text went out: safe to retry
        text = scrub(f"{exc.__class__.__name__}: {exc}", environ)
        _fail_row(store, row, text, now, max_attempts, result, permanent=False)
        result.errors.append(f"{row.dedup_key}: {text}")
        return False
    else:
        store.outbox.handing_over(row.id, utc_stamp(clock()))
        try:
            smtp.send(data_text(row.mime))
            code, resp = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            text = scrub(f"no answer after the message text went out ({exc.__class__.__name__}: {exc})", environ)
            store.outbox.mark_in_doubt(row.id, text)
            log.error("mail %s: %s; held in doubt (not resent automatically)", row.dedup_key, text)
            return False
        if code != 250:
            text = scrub(f"{code} {reply_text(resp)}", environ)
            _fail_row(store, row, text, now, max_attempts, result, permanent=code >= 500)
            result.errors.append(f"{row.dedup_key}: {text}")
            return _reset(smtp)
        accepted = [r for r in pending if r not in refused]
    _outcome(store, row, pending, accepted, refused, now, max_attempts, result)
    return usable


def _reset(smtp: smtplib.SMTP) -> bool:
    """RSET after a refusal; False when the session is beyond reset."""
    try:
        code, _resp = smtp.rset()
    except (smtplib.SMTPException, OSError):
        return False
    return code == 250


def _outcome(store: Store, row: OutboxMessage, pending: list[str], accepted: list[str],
             refused: Mapping[str, tuple[int, bytes]], now: dt.datetime, max_attempts: int,
             result: DeliveryResult) -> None:
    """Record a message the server answered: sent, or partly refused (4xx kept, 5xx final)."""
    if not refused:
        store.outbox.mark_sent(row.id, utc_stamp(now))
        result.sent += 1
        log.info("mail %s sent to %d recipient(s): %s", row.dedup_key, len(pending), row.subject)
        return
    # keep only refusals worth retrying (4xx); a 5xx refusal is final for that address
    retry = [r for r, (code, _msg) in refused.items() if code < 500]
    rejected = {r: f"{code} {reply_text(msg)}" for r, (code, msg) in refused.items() if code >= 500}
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


def resend(store: Store, key: str, clock: Clock, who: str = "") -> OutboxRow:
    """An operator's decision on an in-doubt (or failed) message: send it again at the next
    delivery. UsageError when there is no such message or it is not in doubt or failed."""
    row = _operator_row(store, key, ("in_doubt", "failed"), "resend")
    store.outbox.resend(row["id"], utc_stamp(clock()), f"resent by {who or 'an operator'} at {utc_stamp(clock())}")
    log.warning("mail %s (id %d): resend requested by %s", row["dedup_key"], row["id"], who or "an operator")
    return row


def drop(store: Store, key: str, clock: Clock, who: str = "", reason: str = "") -> OutboxRow:
    """An operator's decision: never send this message (again), e.g. it did arrive."""
    row = _operator_row(store, key, ("in_doubt", "pending", "failed"), "drop")
    note = f"dropped by {who or 'an operator'} at {utc_stamp(clock())}" + (f": {reason}" if reason else "")
    store.outbox.drop(row["id"], note)
    log.warning("mail %s (id %d): %s", row["dedup_key"], row["id"], note)
    return row


def _operator_row(store: Store, key: str, allowed: tuple[str, ...], verb: str) -> OutboxRow:
    row = store.outbox.find(key)
    if row is None:
        raise UsageError(f"no outbox message {key!r}; see `stresswatch alerts outbox`")
    if row["status"] not in allowed:
        raise UsageError(f"outbox message {row['id']} ({row['dedup_key']}) is {row['status']}; only "
                         f"{' or '.join(allowed)} messages can be {'resent' if verb == 'resend' else 'dropped'}")
    return row


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
