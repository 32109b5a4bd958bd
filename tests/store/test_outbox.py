"""The outbox rows: dedup by key, what is due, attempts, sent and failed, counts."""

import datetime as dt


def enqueue(store, key: str, now: str = "2022-03-01T08:00:00Z") -> bool:
    return store.outbox.enqueue(dedup_key=key, run_date=dt.date(2022, 3, 1), sender="sw@example.org",
                                recipients=["a@example.org", "b@example.org"], subject="s", mime=b"MIME", now=now)


def test_enqueue_once_per_key_and_rollback_with_the_callers_transaction(store):
    assert enqueue(store, "digest:2022-03-01") is True
    assert enqueue(store, "digest:2022-03-01") is False
    try:
        with store.transaction():
            enqueue(store, "digest:2022-03-02")
            raise RuntimeError("alert states failed to write")
    except RuntimeError:
        pass
    assert [r["dedup_key"] for r in store.outbox.rows()] == ["digest:2022-03-01"]


def test_due_attempts_and_final_states(store):
    enqueue(store, "k1")
    enqueue(store, "k2")
    (m1, m2) = store.outbox.due()
    assert m1.mime == b"MIME" and m1.pending_recipients == ["a@example.org", "b@example.org"]
    store.outbox.record_attempt(m1.id, attempts=1, give_up=False, next_attempt_at="2022-03-01T08:05:00Z",
                                error="x" * 2000, pending=["b@example.org"])
    assert [m.id for m in store.outbox.due("2022-03-01T08:01:00Z")] == [m2.id]  # m1 backs off
    assert [m.id for m in store.outbox.due()] == [m1.id, m2.id]  # a daily run ignores the backoff
    (row1, _row2) = store.outbox.rows()
    assert row1["pending_recipients"] == '["b@example.org"]' and len(row1["last_error"]) == 1000
    store.outbox.mark_sent(m1.id, "2022-03-01T08:06:00Z")
    store.outbox.mark_failed(m2.id, "refused", sent_at=None)
    assert store.outbox.counts() == {"pending": 0, "sent": 1, "failed": 1}
    assert [r["status"] for r in store.outbox.rows("sent")] == ["sent"]
