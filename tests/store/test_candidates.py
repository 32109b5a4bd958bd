"""GDELT candidate storage on a real SQLite store: dedup by URL, merge rules, filters, transactions."""

from __future__ import annotations

import datetime as dt
import sqlite3
from importlib import resources

import pytest

from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Candidate
from stresswatch.store import Store
from stresswatch.store.candidates import format_seen
from tests.store.peek import in_transaction, peek

UTC = dt.timezone.utc


def cand(url: str, seen: dt.datetime, query_id: str = "alliance", title: str = "t", **kw) -> Candidate:
    return Candidate(url=url, title=title, seen_at=seen, query_id=query_id, **kw)


def test_migration_creates_the_tables(store):
    names = {r[0] for r in peek(store, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"gdelt_candidates", "gdelt_candidate_queries"} <= names
    assert "0005_candidates.sql" in {r[0] for r in peek(store, "SELECT name FROM schema_migrations")}


def test_save_dedups_by_url_and_counts_new_rows(store):
    a = cand("https://a.example/1", dt.datetime(2023, 8, 15, 9, 30, tzinfo=UTC), title="Shoigu: more than an alliance",
             domain="tass.com", language="English", source_country="Russia")
    b = cand("https://b.example/2", dt.datetime(2023, 8, 16, 3, 15, tzinfo=UTC))
    assert store.candidates.save([a, b, a]) == 2
    assert store.candidates.save([a]) == 0
    assert [c["url"] for c in store.candidates.rows()] == ["https://a.example/1", "https://b.example/2"]
    got = store.candidates.get("https://a.example/1")
    assert got["seen_at"] == "2023-08-15T09:30:00Z" and got["title"] == "Shoigu: more than an alliance"
    assert (got["domain"], got["language"], got["source_country"]) == ("tass.com", "English", "Russia")
    assert got["query_ids"] == ["alliance"] and got["query_id"] == "alliance"
    assert store.candidates.get("https://nowhere.example") is None


def test_a_later_sighting_merges_queries_earliest_time_and_empty_fields(store):
    url = "https://a.example/1"
    store.candidates.save([cand(url, dt.datetime(2023, 8, 15, 12, 0, tzinfo=UTC), "leaders", title="")])
    assert store.candidates.save([cand(url, dt.datetime(2023, 8, 15, 9, 30, tzinfo=UTC), "alliance",
                                        title="Title", domain="tass.com")]) == 0
    got = store.candidates.get(url)
    assert got["seen_at"] == "2023-08-15T09:30:00Z" and got["title"] == "Title" and got["domain"] == "tass.com"
    assert got["query_id"] == "leaders" and got["query_ids"] == ["alliance", "leaders"]


def test_seen_times_are_stored_in_utc(store):
    moscow = dt.timezone(dt.timedelta(hours=3))
    store.candidates.save([cand("https://a.example/1", dt.datetime(2023, 8, 15, 12, 30, tzinfo=moscow)),
                            cand("https://a.example/2", dt.datetime(2023, 8, 15, 12, 30))])  # naive = UTC
    assert [c["seen_at"] for c in store.candidates.rows()] == ["2023-08-15T09:30:00Z", "2023-08-15T12:30:00Z"]
    assert format_seen("2023-08-15T12:30:00+03:00") == "2023-08-15T09:30:00Z"


def test_filters_by_dates_inclusive_and_query(store):
    store.candidates.save([
        cand("https://x/1", dt.datetime(2023, 7, 31, 23, 59, 59, tzinfo=UTC), "alliance"),
        cand("https://x/2", dt.datetime(2023, 8, 1, 0, 0, tzinfo=UTC), "alliance"),
        cand("https://x/3", dt.datetime(2023, 8, 31, 23, 59, 59, tzinfo=UTC), "leaders"),
        cand("https://x/4", dt.datetime(2023, 9, 1, 0, 0, tzinfo=UTC), "leaders"),
    ])
    urls = lambda rows: [r["url"] for r in rows]  # noqa: E731
    assert urls(store.candidates.rows(start=dt.date(2023, 8, 1), end=dt.date(2023, 8, 31))) == ["https://x/2",
                                                                                                 "https://x/3"]
    assert urls(store.candidates.rows(start="2023-08-31")) == ["https://x/3", "https://x/4"]
    assert urls(store.candidates.rows(end="2023-07-31")) == ["https://x/1"]
    assert urls(store.candidates.rows(query_id="leaders")) == ["https://x/3", "https://x/4"]
    assert urls(store.candidates.rows(start=dt.date(2023, 8, 1), query_id="alliance")) == ["https://x/2"]


def test_dicts_are_accepted_and_bad_candidates_refused(store):
    assert store.candidates.save([{"url": "https://d/1", "title": "x", "seen_at": "2023-08-01T00:15:00Z",
                                    "query_id": "q"}]) == 1
    assert store.candidates.get("https://d/1")["seen_at"] == "2023-08-01T00:15:00Z"
    with pytest.raises(ValueError, match="without a url"):
        store.candidates.save([{"url": " ", "seen_at": "2023-08-01T00:00:00Z"}])
    with pytest.raises(ValueError, match="no seen_at"):
        store.candidates.save([{"url": "https://d/2"}])
    assert store.candidates.save([]) == 0


def test_inside_the_callers_transaction_a_rollback_loses_them(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            assert store.candidates.save([cand("https://t/1", dt.datetime(2023, 8, 1, tzinfo=UTC))]) == 1
            assert store.candidates.get("https://t/1") is not None
            raise RuntimeError("partition failed")
    assert store.candidates.rows() == []
    with store.transaction():
        store.candidates.save([cand("https://t/1", dt.datetime(2023, 8, 1, tzinfo=UTC))])
    assert len(store.candidates.rows()) == 1


def test_on_a_store_without_the_link_table_the_batch_is_atomic(tmp_path):
    path = tmp_path / "bare.db"
    setup = sqlite3.connect(path, isolation_level=None)
    setup.executescript(
        "CREATE TABLE gdelt_candidates (url TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', seen_at TEXT NOT NULL,"
        " domain TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT '', source_country TEXT NOT NULL DEFAULT '',"
        " query_id TEXT NOT NULL DEFAULT '', stored_at TEXT NOT NULL);")  # no link table: the batch must fail whole
    # every migration recorded as applied, so opening the store leaves this schema as it is
    setup.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    setup.executemany("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00Z')",
                      [(f.name,) for f in resources.files("stresswatch.store.migrations").iterdir()
                       if f.name.endswith(".sql")])
    setup.close()
    with Store.open(path) as store:
        with pytest.raises(StoreError, match="cannot store GDELT candidates"):
            store.candidates.save([cand("https://b/1", dt.datetime(2023, 8, 1, tzinfo=UTC))])
        assert peek(store, "SELECT COUNT(*) FROM gdelt_candidates")[0][0] == 0
        assert not in_transaction(store)


def test_delete_all_or_by_query(store):
    store.candidates.save([cand("https://x/1", dt.datetime(2023, 8, 1, tzinfo=UTC), "alliance"),
                            cand("https://x/2", dt.datetime(2023, 8, 2, tzinfo=UTC), "leaders"),
                            cand("https://x/2", dt.datetime(2023, 8, 2, tzinfo=UTC), "alliance"),
                            cand("https://x/3", dt.datetime(2023, 8, 3, tzinfo=UTC), "leaders")])
    assert store.candidates.delete(query_id="leaders") == 1  # x/3; x/2 is still found by alliance
    x2 = store.candidates.get("https://x/2")
    assert x2["query_ids"] == ["alliance"] and x2["query_id"] == "alliance"
    assert store.candidates.delete(query_id="alliance") == 2
    assert store.candidates.rows() == []
    store.candidates.save([cand("https://x/1", dt.datetime(2023, 8, 1, tzinfo=UTC))])
    assert store.candidates.delete() == 1 and store.candidates.rows() == []
