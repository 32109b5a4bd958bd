"""GDELT candidate storage on a real SQLite store: dedup by URL, merge rules, filters, transactions."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from stresswatch.candidates import (delete_candidates, format_seen, get_candidate, list_candidates,
                                    save_candidates)
from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Candidate

UTC = dt.timezone.utc


def cand(url: str, seen: dt.datetime, query_id: str = "alliance", title: str = "t", **kw) -> Candidate:
    return Candidate(url=url, title=title, seen_at=seen, query_id=query_id, **kw)


def test_migration_creates_the_tables(store):
    names = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"gdelt_candidates", "gdelt_candidate_queries"} <= names
    assert "0005_candidates.sql" in {r[0] for r in store.conn.execute("SELECT name FROM schema_migrations")}


def test_save_dedups_by_url_and_counts_new_rows(store):
    a = cand("https://a.example/1", dt.datetime(2023, 8, 15, 9, 30, tzinfo=UTC), title="Shoigu: more than an alliance",
             domain="tass.com", language="English", source_country="Russia")
    b = cand("https://b.example/2", dt.datetime(2023, 8, 16, 3, 15, tzinfo=UTC))
    assert save_candidates(store, [a, b, a]) == 2
    assert save_candidates(store, [a]) == 0
    assert [c["url"] for c in list_candidates(store)] == ["https://a.example/1", "https://b.example/2"]
    got = get_candidate(store, "https://a.example/1")
    assert got["seen_at"] == "2023-08-15T09:30:00Z" and got["title"] == "Shoigu: more than an alliance"
    assert (got["domain"], got["language"], got["source_country"]) == ("tass.com", "English", "Russia")
    assert got["query_ids"] == ["alliance"] and got["query_id"] == "alliance"
    assert get_candidate(store, "https://nowhere.example") is None


def test_a_later_sighting_merges_queries_earliest_time_and_empty_fields(store):
    url = "https://a.example/1"
    save_candidates(store, [cand(url, dt.datetime(2023, 8, 15, 12, 0, tzinfo=UTC), "leaders", title="")])
    assert save_candidates(store, [cand(url, dt.datetime(2023, 8, 15, 9, 30, tzinfo=UTC), "alliance",
                                        title="Title", domain="tass.com")]) == 0
    got = get_candidate(store, url)
    assert got["seen_at"] == "2023-08-15T09:30:00Z" and got["title"] == "Title" and got["domain"] == "tass.com"
    assert got["query_id"] == "leaders" and got["query_ids"] == ["alliance", "leaders"]


def test_seen_times_are_stored_in_utc(store):
    moscow = dt.timezone(dt.timedelta(hours=3))
    save_candidates(store, [cand("https://a.example/1", dt.datetime(2023, 8, 15, 12, 30, tzinfo=moscow)),
                            cand("https://a.example/2", dt.datetime(2023, 8, 15, 12, 30))])  # naive = UTC
    assert [c["seen_at"] for c in list_candidates(store)] == ["2023-08-15T09:30:00Z", "2023-08-15T12:30:00Z"]
    assert format_seen("2023-08-15T12:30:00+03:00") == "2023-08-15T09:30:00Z"


def test_filters_by_dates_inclusive_and_query(store):
    save_candidates(store, [
        cand("https://x/1", dt.datetime(2023, 7, 31, 23, 59, 59, tzinfo=UTC), "alliance"),
        cand("https://x/2", dt.datetime(2023, 8, 1, 0, 0, tzinfo=UTC), "alliance"),
        cand("https://x/3", dt.datetime(2023, 8, 31, 23, 59, 59, tzinfo=UTC), "leaders"),
        cand("https://x/4", dt.datetime(2023, 9, 1, 0, 0, tzinfo=UTC), "leaders"),
    ])
    urls = lambda rows: [r["url"] for r in rows]  # noqa: E731
    assert urls(list_candidates(store, start=dt.date(2023, 8, 1), end=dt.date(2023, 8, 31))) == ["https://x/2",
                                                                                                 "https://x/3"]
    assert urls(list_candidates(store, start="2023-08-31")) == ["https://x/3", "https://x/4"]
    assert urls(list_candidates(store, end="2023-07-31")) == ["https://x/1"]
    assert urls(list_candidates(store, query_id="leaders")) == ["https://x/3", "https://x/4"]
    assert urls(list_candidates(store, start=dt.date(2023, 8, 1), query_id="alliance")) == ["https://x/2"]


def test_dicts_are_accepted_and_bad_candidates_refused(store):
    assert save_candidates(store, [{"url": "https://d/1", "title": "x", "seen_at": "2023-08-01T00:15:00Z",
                                    "query_id": "q"}]) == 1
    assert get_candidate(store, "https://d/1")["seen_at"] == "2023-08-01T00:15:00Z"
    with pytest.raises(ValueError, match="without a url"):
        save_candidates(store, [{"url": " ", "seen_at": "2023-08-01T00:00:00Z"}])
    with pytest.raises(ValueError, match="no seen_at"):
        save_candidates(store, [{"url": "https://d/2"}])
    assert save_candidates(store, []) == 0


def test_inside_the_callers_transaction_a_rollback_loses_them(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            assert save_candidates(conn, [cand("https://t/1", dt.datetime(2023, 8, 1, tzinfo=UTC))]) == 1
            assert get_candidate(conn, "https://t/1") is not None
            raise RuntimeError("partition failed")
    assert list_candidates(store) == []
    with store.transaction() as conn:
        save_candidates(conn, [cand("https://t/1", dt.datetime(2023, 8, 1, tzinfo=UTC))])
    assert len(list_candidates(store)) == 1


def test_on_a_bare_connection_the_batch_is_atomic(store, tmp_path):
    conn = sqlite3.connect(tmp_path / "bare.db", isolation_level=None)
    conn.executescript(
        "CREATE TABLE gdelt_candidates (url TEXT PRIMARY KEY, title TEXT NOT NULL DEFAULT '', seen_at TEXT NOT NULL,"
        " domain TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT '', source_country TEXT NOT NULL DEFAULT '',"
        " query_id TEXT NOT NULL DEFAULT '', stored_at TEXT NOT NULL);")  # no link table: the batch must fail whole
    with pytest.raises(StoreError, match="cannot store GDELT candidates"):
        save_candidates(conn, [cand("https://b/1", dt.datetime(2023, 8, 1, tzinfo=UTC))])
    assert conn.execute("SELECT COUNT(*) FROM gdelt_candidates").fetchone()[0] == 0
    assert not conn.in_transaction
    conn.close()


def test_delete_all_or_by_query(store):
    save_candidates(store, [cand("https://x/1", dt.datetime(2023, 8, 1, tzinfo=UTC), "alliance"),
                            cand("https://x/2", dt.datetime(2023, 8, 2, tzinfo=UTC), "leaders"),
                            cand("https://x/2", dt.datetime(2023, 8, 2, tzinfo=UTC), "alliance"),
                            cand("https://x/3", dt.datetime(2023, 8, 3, tzinfo=UTC), "leaders")])
    assert delete_candidates(store, query_id="leaders") == 1  # x/3; x/2 is still found by alliance
    x2 = get_candidate(store, "https://x/2")
    assert x2["query_ids"] == ["alliance"] and x2["query_id"] == "alliance"
    assert delete_candidates(store, query_id="alliance") == 2
    assert list_candidates(store) == []
    save_candidates(store, [cand("https://x/1", dt.datetime(2023, 8, 1, tzinfo=UTC))])
    assert delete_candidates(store) == 1 and list_candidates(store) == []
