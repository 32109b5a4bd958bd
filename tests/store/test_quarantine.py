"""The quarantine gateway and migration 0010 on a real SQLite store: values kept as text (inf and
1e+300 survive), once per payload, newest first, per-series counts; the ledger takes `interrupted`
and a store made before 0010 keeps its ledger rows through the upgrade; payload metadata."""

from __future__ import annotations

import datetime as dt
import sqlite3
from importlib import resources

from stresswatch.fetchers.base import Request
from stresswatch.store import Store
from tests.store.peek import peek

UTC = dt.timezone.utc
D = dt.date


def test_rejects_are_kept_once_as_text_newest_first(store):
    first = dt.datetime(2026, 11, 1, 12, tzinfo=UTC)
    later = dt.datetime(2026, 11, 2, 12, tzinfo=UTC)
    rejects = [("fred.DCOILBRENTEU", D(2023, 1, 4), -37.63, "not positive"),
               ("fred.DCOILBRENTEU", D(2023, 1, 6), float("inf"), "not finite")]
    assert store.quarantine.add("fred", rejects, payload_id=None, fetched_at=first) == 2
    assert store.quarantine.add("bis", [("bis.cbpol.RU", D(2099, 1, 1), 7.5, "after the fetch day")],
                                payload_id=None, fetched_at=later) == 1
    rows = store.quarantine.rows()
    assert [r["series_id"] for r in rows] == ["bis.cbpol.RU", "fred.DCOILBRENTEU", "fred.DCOILBRENTEU"]
    assert {r["value"] for r in rows} == {"7.5", "-37.63", "inf"}
    counts = {c["series_id"]: (c["count"], c["last_reason"]) for c in store.quarantine.counts()}
    assert counts == {"bis.cbpol.RU": (1, "after the fetch day"), "fred.DCOILBRENTEU": (2, counts["fred.DCOILBRENTEU"][1])}
    assert store.quarantine.delete("fred") == 2 and [r["source"] for r in store.quarantine.rows()] == ["bis"]


def test_the_same_value_from_the_same_payload_is_kept_once(store):
    request = Request("GET", "https://x/y", label="y")
    pid = store.payloads.save(source="fred", request=request, status=200, content_type="text/csv", body=b"a,b\n",
                              fetched_at=dt.datetime(2026, 11, 1, tzinfo=UTC), parser_version="1")
    reject = [("fred.DFF", D(2023, 1, 4), 99.0, "above 30")]
    at = dt.datetime(2026, 11, 1, tzinfo=UTC)
    assert store.quarantine.add("fred", reject, payload_id=pid, fetched_at=at) == 1
    assert store.quarantine.add("fred", reject, payload_id=pid, fetched_at=at) == 0
    assert len(store.quarantine.rows("fred")) == 1


def test_payload_metadata_round_trips(store):
    request = Request("GET", "https://x/y", label="y")
    meta = {"final_url": "https://x/z", "redirects": ["301 https://x/z"], "span": ["2023-01-01", "2023-12-31"]}
    store.payloads.save(source="cbr", request=request, status=200, content_type="text/xml", body=b"<a/>",
                        fetched_at=dt.datetime(2026, 11, 1, tzinfo=UTC), parser_version="1", meta=meta)
    (payload,) = list(store.payloads.iter("cbr"))
    assert payload.meta == meta and not payload.truncated


def test_the_ledger_takes_interrupted(store):
    store.ledger.start("fetch:cbr", "2023-01-01..2023-12-31", D(2023, 1, 1), D(2023, 12, 31))
    store.ledger.finish("fetch:cbr", "2023-01-01..2023-12-31", "interrupted", error="asked to stop")
    assert store.ledger.get("fetch:cbr", "2023-01-01..2023-12-31")["status"] == "interrupted"


def test_a_store_from_before_0010_keeps_its_ledger_and_payloads(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for f in sorted(resources.files("stresswatch.store.migrations").iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql") and f.name < "0010":
            conn.executescript(f.read_text())
            conn.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00Z')", (f.name,))
    conn.execute("INSERT INTO runs (job, partition, status, attempts, rows, covered_from, covered_to, last_success) "
                 "VALUES ('fetch:cbr', '2023-01-01..2023-12-31', 'success', 2, 247, '2023-01-01', '2023-12-31', "
                 "'2026-01-01T00:00:00Z')")
    conn.close()
    with Store.open(path) as store:
        row = store.ledger.get("fetch:cbr", "2023-01-01..2023-12-31")
        assert (row["status"], row["attempts"], row["rows"], row["covered_to"]) == ("success", 2, 247, "2023-12-31")
        assert "0010_fetch_guards.sql" in {r[0] for r in peek(store, "SELECT name FROM schema_migrations")}
        assert store.quarantine.rows() == []
