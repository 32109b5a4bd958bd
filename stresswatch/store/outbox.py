"""The mail outbox (table `outbox`, migration 0004).

A message is enqueued in the same transaction as the alert-state change that caused it and is
delivered afterwards by `stresswatch.mail`; `dedup_key` (e.g. digest:2022-02-25) makes a rerun a
no-op. `pending_recipients` are the addresses still to deliver (refused ones are retried alone).
How and when to retry is mail's policy; this module only keeps the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Sequence, TypedDict

from stresswatch.store.database import Database


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


class Outbox:
    """Queued, sent and failed mail."""

    def __init__(self, db: Database):
        self._db = db

    def enqueue(self, *, dedup_key: str, run_date: dt.date | None, sender: str, recipients: Sequence[str],
                subject: str, mime: bytes, now: str) -> bool:
        """Queue a message (joins the open transaction); False when `dedup_key` is already queued."""
        with self._db.transaction():
            cur = self._db.execute(
                """INSERT INTO outbox (dedup_key, run_date, created_at, sender, recipients, pending_recipients,
                                       subject, mime, status, attempts, next_attempt_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
                   ON CONFLICT(dedup_key) DO NOTHING""",
                (dedup_key, run_date.isoformat() if run_date else None, now, sender, json.dumps(list(recipients)),
                 json.dumps(list(recipients)), subject, mime, now))
            return cur.rowcount == 1

    def rows(self, status: str | None = None) -> list[OutboxRow]:
        """Messages (with one status, or all) without their MIME bodies, oldest first."""
        sql = ("SELECT id, dedup_key, run_date, created_at, subject, recipients, pending_recipients, status, "
               "attempts, next_attempt_at, last_error, sent_at FROM outbox")
        args: list[Any] = []
        if status:
            sql += " WHERE status = ?"
            args.append(status)
        return [OutboxRow(**dict(r)) for r in self._db.query(sql + " ORDER BY id", args)]  # type: ignore[typeddict-item]

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
            next_attempt_at=r["next_attempt_at"]) for r in self._db.query(sql + " ORDER BY id", args)]

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

    def counts(self) -> dict[str, int]:
        """Messages per status (pending, sent, failed; 0 when none)."""
        out = {"pending": 0, "sent": 0, "failed": 0}
        for r in self._db.query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status"):
            out[r["status"]] = int(r["n"])
        return out
