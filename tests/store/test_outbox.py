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


def test_reconcile_resumes_what_never_went_out_and_holds_what_may_have(store):
    for key in ("before-data", "after-data", "untouched"):
        enqueue(store, key)
    ids = {r["dedup_key"]: r["id"] for r in store.outbox.rows()}
    store.outbox.begin_attempt(ids["before-data"], "<a@x>", "2022-03-01T08:00:01Z")
    store.outbox.begin_attempt(ids["after-data"], "<b@x>", "2022-03-01T08:00:02Z")
    store.outbox.handing_over(ids["after-data"], "2022-03-01T08:00:03Z")
    found = store.outbox.reconcile()
    assert (found.resumed, found.in_doubt) == (["before-data"], ["after-data"])
    rows = {r["dedup_key"]: r for r in store.outbox.rows()}
    assert rows["before-data"]["status"] == "pending" and rows["untouched"]["status"] == "pending"
    assert rows["after-data"]["status"] == "in_doubt" and rows["after-data"]["message_id"] == "<b@x>"
    assert "2022-03-01T08:00:03Z" in rows["after-data"]["last_error"]
    assert [m.dedup_key for m in store.outbox.due()] == ["before-data", "untouched"]  # in doubt: never due
    assert store.outbox.counts() == {"pending": 2, "sent": 0, "failed": 0, "in_doubt": 1}
    assert store.outbox.reconcile() == type(found)([], [])  # nothing left in flight
    store.outbox.drop(ids["after-data"], "arrived")
    assert store.outbox.find("after-data")["status"] == "dropped"


def test_migration_0008_keeps_the_rows_of_an_older_store(tmp_path):
    """A store made before 0008 (outbox statuses pending/sent/failed only) is rebuilt with its rows."""
    import sqlite3
    from importlib import resources

    from stresswatch.store import Store
    from stresswatch.store.database import _split_sql

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for f in sorted(resources.files("stresswatch.store.migrations").iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql") and f.name < "0008":
            for statement in _split_sql(f.read_text(encoding="utf-8")):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, '2024-01-01T00:00:00Z')", (f.name,))
    conn.execute("INSERT INTO outbox (dedup_key, run_date, created_at, sender, recipients, pending_recipients, "
                 "subject, mime, status, attempts, next_attempt_at, sent_at) VALUES ('digest:2022-03-01', "
                 "'2022-03-01', '2022-03-01T08:00:00Z', 's@x', '[\"a@x\"]', '[]', 'S', X'4D', 'sent', 1, "
                 "'2022-03-01T08:00:00Z', '2022-03-01T08:00:05Z')")
    conn.close()
    with Store.open(path, create=False) as store:
        (row,) = store.outbox.rows()
        assert (row["dedup_key"], row["status"], row["sent_at"], row["message_id"]) == (
            "digest:2022-03-01", "sent", "2022-03-01T08:00:05Z", None)
        assert store.migrate() == [] and store.integrity_check() == "ok"
