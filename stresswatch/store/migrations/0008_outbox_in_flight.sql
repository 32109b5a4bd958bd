-- Exactly-once mail (issue 14, item 7): an attempt is recorded before the message goes to the SMTP
-- server, so a process killed mid-send leaves a trace (kept by stresswatch/store/outbox.py, used by
-- stresswatch/mail/delivery.py; docs/operations.md "Exactly once").
--
-- New statuses:
--   sending   an attempt is in flight: committed (synced to disk) before MAIL FROM;
--             data_started_at is set, again synced, once the server answered DATA with 354 and
--             just before the message text goes out. Found at the start of a later delivery
--             (the sender died): without data_started_at the server never received the text, so
--             the row goes back to pending and is sent again; with it the server may hold the
--             message, so the row becomes in_doubt.
--   in_doubt  handed over but no answer known: never resent automatically; `stresswatch alerts
--             resend ID` or `alerts drop ID` decides (resolution records who decided what).
--   dropped   an operator dropped it (e.g. it did arrive).
-- message_id: the message's Message-ID header, for finding it in a mailbox.
-- SQLite cannot change a CHECK constraint in place: the table is rebuilt with the same rows.
CREATE TABLE outbox_next (
    id                 INTEGER PRIMARY KEY,
    dedup_key          TEXT NOT NULL UNIQUE,
    run_date           TEXT,
    created_at         TEXT NOT NULL,
    sender             TEXT NOT NULL,
    recipients         TEXT NOT NULL,
    pending_recipients TEXT NOT NULL,
    subject            TEXT NOT NULL,
    mime               BLOB NOT NULL,
    status             TEXT NOT NULL
                       CHECK (status IN ('pending', 'sending', 'in_doubt', 'sent', 'failed', 'dropped')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    TEXT NOT NULL,
    last_error         TEXT,
    sent_at            TEXT,
    message_id         TEXT,
    attempt_started_at TEXT,
    data_started_at    TEXT,
    resolution         TEXT
);
INSERT INTO outbox_next (id, dedup_key, run_date, created_at, sender, recipients, pending_recipients, subject, mime,
                         status, attempts, next_attempt_at, last_error, sent_at)
    SELECT id, dedup_key, run_date, created_at, sender, recipients, pending_recipients, subject, mime, status,
           attempts, next_attempt_at, last_error, sent_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
CREATE INDEX outbox_due ON outbox(status, next_attempt_at)
