"""The daemon's key/value state and the reports' index and ledger snapshots."""

import datetime as dt

D = dt.date(2023, 8, 16)


def test_daemon_state_put_and_get(store):
    assert store.daemon_state.get() == {}
    store.daemon_state.put("last_run", {"date": D, "ok": True}, "2023-08-16T08:00:00Z")
    store.daemon_state.put("last_run", {"date": D, "ok": False}, "2023-08-17T08:00:00Z")
    store.daemon_state.put("next_run", None, "2023-08-17T08:00:00Z")
    assert store.daemon_state.get() == {"last_run": {"date": "2023-08-16", "ok": False}, "next_run": None}


def test_report_index_and_ledger_snapshots(store):
    store.reports.record(D, "/r", "2023-08-16T09:00:00Z", "stress", 0.8, ["html", "md"], 1)
    store.reports.record(D, "/r", "2023-08-16T10:00:00Z", "calm", 0.1, ["html"], 0)
    store.reports.record(D - dt.timedelta(days=1), "/other", "2023-08-15T10:00:00Z", None, None, ["json"], 0)
    assert [(r["date"], r["regime"], r["formats"]) for r in store.reports.index("/r")] == [
        ("2023-08-16", "calm", "html")]
    assert [r["date"] for r in store.reports.index()] == ["2023-08-16", "2023-08-15"]
    facts = {"cbr": {"last_success": "2023-08-16T07:00:00Z", "last_error": None, "last_error_at": None,
                     "failed": 0}}
    assert store.reports.snapshot(D) == {}
    store.reports.save_snapshot(D, facts)
    assert store.reports.snapshot(D) == facts
