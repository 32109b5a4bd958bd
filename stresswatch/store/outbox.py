"""The mail outbox (table `outbox`, migrations 0004 and 0008).

A message is enqueued in the same transaction as the alert-state change that caused it and is
delivered afterwards by `stresswatch.mail`; `dedup_key` (e.g. digest:2022-02-25) makes a rerun a
no-op. `pending_recipients` are the addresses still to deliver (refused ones are retried alone).
How and when to retry is mail's policy; this module only keeps the rows and their life cycle:

    pending --begin_attempt--> sending --handing_over--> sending (text going out)
       ^                          |                          |
       |                          +-- answer: mark_sent / record_attempt / mark_failed
       |                          +-- died before the text went out: reconcile -> pending
       |                                                     +-- no answer: mark_in_doubt / reconcile -> in_doubt
       +-------------------- resend (operator) <------------ in_doubt --drop (operator)--> dropped

`begin_attempt` and `handing_over` are durable commits (synced to disk before the SMTP command
that follows them): a power cut cannot lose the record that a message may have left.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Sequence, TypedDict

from stresswatch.store.database import Database

#: every status a message can have (the CHECK constraint of migration 0008)
STATUSES = ("pending", "sending", "in_doubt", "sent", "failed", "dropped")


@dataclass(frozen=True)
class OutboxMessage:
    """A queued message, with its MIME bytes (what delivery needs)."""

    id: int
    dedup_key: str
    run_date: str | None
    sender: str
    recipients: list[str]
    pending_recipients: list[str]
    subject: str
    mime: bytes
    status: str
    attempts: int
    next_attempt_at: str
    message_id: str | None = None


class OutboxRow(TypedDict):
    """An outbox row for listings (no MIME body; recipient lists as stored JSON text)."""

    id: int
    dedup_key: str
    run_date: str | None
    created_at: str
    subject: str
    recipients: str
    pending_recipients: str
    status: str
    attempts: int
    next_attempt_at: str
    last_error: str | None
    sent_at: str | None
    message_id: str | None
    attempt_started_at: str | None
    data_started_at: str | None
    resolution: str | None


@dataclass(frozen=True)
class Reconciled:
    """What `reconcile` found of attempts a dead sender left in flight."""

    resumed: list[str]  # dedup keys back to pending: the server never received their text
    in_doubt: list[str]  # dedup keys held: the server may have them


_ROW_COLUMNS = ("id, dedup_key, run_date, created_at, subject, recipients, pending_recipients, status, attempts, "
                "next_attempt_at, last_error, sent_at, message_id, attempt_started_at, data_started_at, resolution")


class Outbox:
    """Queued, in-flight, in-doubt, sent, failed and dropped mail."""

    def __init__(self, db: Database):
        self._db = db

    def enqueue(self, *, dedup_key: str, run_date: dt.date | None, sender: str, recipients: Sequence[str],
                subject: str, mime: bytes, now: str, message_id: str | None = None) -> bool:
        """Queue a message (joins the open transaction); False when `dedup_key` is already queued."""
        with self._db.transaction():
            cur = self._db.execute(
                """INSERT INTO outbox (dedup_key, run_date, created_at, sender, recipients, pending_recipients,
                                       subject, mime, status, attempts, next_attempt_at, message_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)
                   ON CONFLICT(dedup_key) DO NOTHING""",
                (dedup_key, run_date.isoformat() if run_date else None, now, sender, json.dumps(list(recipients)),
                 json.dumps(list(recipients)), subject, mime, now, message_id))
            return cur.rowcount == 1

    def rows(self, status: str | None = None) -> list[OutboxRow]:
        """Messages (with one status, or all) without their MIME bodies, oldest first."""
        sql = f"SELECT {_ROW_COLUMNS} FROM outbox"
        args: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            args.append(status)
        return [OutboxRow(**dict(r)) for r in self._db.query(sql + " ORDER BY id", args)]  # type: ignore[typeddict-item]

    def find(self, key: str) -> OutboxRow | None:
        """One message by its id (digits) or its dedup key."""
        column = "id" if key.isdigit() else "dedup_key"
        row = self._db.query_one(f"SELECT {_ROW_COLUMNS} FROM outbox WHERE {column} = ?",
                                 (int(key) if key.isdigit() else key,))
        return OutboxRow(**dict(row)) if row else None  # type: ignore[typeddict-item]

    def due(self, now: str | None = None) -> list[OutboxMessage]:
        """Pending messages, oldest first: all of them, or those whose next attempt is due at `now`."""
        sql = "SELECT * FROM outbox WHERE status = 'pending'"
        args: list[Any] = []
        if now is not None:
            sql += " AND next_attempt_at <= ?"
            args.append(now)
        return [OutboxMessage(
            id=r["id"], dedup_key=r["dedup_key"], run_date=r["run_date"], sender=r["sender"],
            recipients=json.loads(r["recipients"]), pending_recipients=json.loads(r["pending_recipients"]),
            subject=r["subject"], mime=bytes(r["mime"]), status=r["status"], attempts=r["attempts"],
            next_attempt_at=r["next_attempt_at"], message_id=r["message_id"])
            for r in self._db.query(sql + " ORDER BY id", args)]

    # -- one attempt --------------------------------------------------------------------------
    def begin_attempt(self, message_id: int, header_id: str | None, at: str) -> None:
        """The attempt starts (before MAIL FROM): status `sending`, synced to disk."""
        with self._db.transaction(durable=True):
            self._db.execute("UPDATE outbox SET status = 'sending', attempt_started_at = ?, data_started_at = NULL, "
                             "message_id = COALESCE(message_id, ?) WHERE id = ?", (at, header_id, message_id))

    def handing_over(self, message_id: int, at: str) -> None:
        """The server said 354: the text goes out next; from now on the server may hold the message.
        Synced to disk before the first byte of the text is sent."""
        with self._db.transaction(durable=True):
            self._db.execute("UPDATE outbox SET data_started_at = ? WHERE id = ?", (at, message_id))

    def mark_sent(self, message_id: int, sent_at: str) -> None:
        """Every pending recipient accepted the message."""
        with self._db.transaction():
            self._db.execute("UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?, "
                             "pending_recipients = '[]', last_error = NULL WHERE id = ?", (sent_at, message_id))

    def record_attempt(self, message_id: int, *, attempts: int, give_up: bool, next_attempt_at: str, error: str,
                       pending: Sequence[str] | None = None) -> None:
        """A failed attempt: the message stays pending for `next_attempt_at` (or fails for good when
        `give_up`); `pending` narrows the recipients still to deliver."""
        with self._db.transaction():
            self._db.execute(
                "UPDATE outbox SET attempts = ?, status = ?, next_attempt_at = ?, last_error = ?, "
                "pending_recipients = COALESCE(?, pending_recipients) WHERE id = ?",
                (attempts, "failed" if give_up else "pending", next_attempt_at, error[:1000],
                 json.dumps(list(pending)) if pending is not None else None, message_id))

    def mark_failed(self, message_id: int, error: str, sent_at: str | None = None) -> None:
        """Every remaining recipient was refused for good (`sent_at`: when some others accepted it)."""
        with self._db.transaction():
            self._db.execute("UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, "
                             "pending_recipients = '[]', sent_at = ? WHERE id = ?", (error[:1000], sent_at, message_id))

    def mark_in_doubt(self, message_id: int, error: str) -> None:
        """The text went out but no answer came (timeout, connection lost): the server may hold it."""
        with self._db.transaction(durable=True):
            self._db.execute("UPDATE outbox SET status = 'in_doubt', attempts = attempts + 1, last_error = ? "
                             "WHERE id = ?", (error[:1000], message_id))

    # -- after a crash, and the operator's decisions -------------------------------------------
    def reconcile(self) -> Reconciled:
        """Attempts left `sending` by a sender that died: back to pending when the text never went
        out, `in_doubt` when it may have. Call only while holding the writer lock (no live sender)."""
        rows = self._db.query("SELECT id, dedup_key, data_started_at FROM outbox WHERE status = 'sending' ORDER BY id")
        resumed = [r["dedup_key"] for r in rows if r["data_started_at"] is None]
        doubtful = [r["dedup_key"] for r in rows if r["data_started_at"] is not None]
        if rows:
            with self._db.transaction():
                self._db.execute(
                    "UPDATE outbox SET status = 'pending', last_error = ? "
                    "WHERE status = 'sending' AND data_started_at IS NULL",
                    ("the sender stopped before the message text went out; sending again",))
                self._db.execute(
                    "UPDATE outbox SET status = 'in_doubt', attempts = attempts + 1, last_error = "
                    "'the sender stopped after handing the message text to the server at ' || data_started_at || "
                    "' and before its answer: the server may have it' WHERE status = 'sending'")
        return Reconciled(resumed, doubtful)

    def resend(self, message_id: int, now: str, note: str) -> None:
        """An operator's decision: send an in-doubt (or failed) message again, at the next delivery."""
        with self._db.transaction():
            self._db.execute(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, data_started_at = NULL, "
                "pending_recipients = CASE WHEN pending_recipients = '[]' THEN recipients ELSE pending_recipients END, "
                "resolution = ? WHERE id = ? AND status IN ('in_doubt', 'failed')", (now, note, message_id))

    def drop(self, message_id: int, note: str) -> None:
        """An operator's decision: never send this message (again)."""
        with self._db.transaction():
            self._db.execute("UPDATE outbox SET status = 'dropped', resolution = ? "
                             "WHERE id = ? AND status IN ('in_doubt', 'pending', 'failed')", (note, message_id))

    def counts(self) -> dict[str, int]:
        """Messages per status: pending, sent and failed always (0 when none), the other statuses
        (sending, in_doubt, dropped) when some message has them."""
        out = {"pending": 0, "sent": 0, "failed": 0}
        for r in self._db.query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status"):
            out[r["status"]] = int(r["n"])
        return out
