"""The SQLite store: vintages and as-of reads, derived series, payload archive, run ledger, migrations."""

import datetime as dt

import pandas as pd
import pytest

from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Observation, Request, SeriesInfo
from stresswatch.store import Store

UTC = dt.timezone.utc
USD = SeriesInfo("cbr.fx.USD", "cbr", "US dollar", "RUB per 1 USD", "D", 0)
TRADE = SeriesInfo("imf.x", "imf", "exports", "USD", "M", 75)


def obs(series, day, value):
    return Observation(series, dt.date.fromisoformat(day), value)


def test_open_sets_wal_and_migrates_once(tmp_path):
    path = tmp_path / "nested" / "sw.db"
    with Store.open(path) as s:
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        names = [r[0] for r in s.conn.execute("SELECT name FROM schema_migrations")]
        assert "0001_core.sql" in names
    with Store.open(path) as s:  # reopening applies nothing twice
        assert s.migrate() == []
        assert s.integrity_check() == "ok"


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        Store.open(path)


def test_history_fetched_after_the_fact_is_known_at_date_plus_lag(store):
    store.upsert_series([USD, TRADE])
    fetched = dt.datetime(2026, 1, 5, 12, tzinfo=UTC)
    assert store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399),
                                     obs("imf.x", "2023-06-01", 9.5e9)], fetched_at=fetched) == 2
    v = store.read_vintaged("cbr.fx.USD")
    assert v["known_at"].iloc[0] == pd.Timestamp("2023-08-15")
    trade = store.read_vintaged("imf.x")
    assert trade["known_at"].iloc[0] == pd.Timestamp("2023-06-01") + pd.Timedelta(days=75)
    assert store.read_series("imf.x", asof="2023-08-01").empty
    assert store.read_series("imf.x", asof="2023-08-15").iloc[0] == 9.5e9


def test_live_fetch_is_known_on_the_fetch_day(store):
    store.upsert_series([TRADE])
    store.write_observations([obs("imf.x", "2024-01-01", 1.0)], fetched_at=dt.datetime(2024, 2, 20, tzinfo=UTC))
    assert store.read_vintaged("imf.x")["known_at"].iloc[0] == pd.Timestamp("2024-02-20")


def test_unchanged_refetch_writes_nothing_and_a_revision_adds_a_vintage(store):
    store.upsert_series([USD])
    first = dt.datetime(2024, 1, 1, tzinfo=UTC)
    store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399)], fetched_at=first)
    assert store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399)],
                                    fetched_at=first + dt.timedelta(days=3)) == 0
    assert store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.5)],
                                    fetched_at=dt.datetime(2024, 3, 1, tzinfo=UTC)) == 1
    rows = store.conn.execute("SELECT known_at, value FROM observations ORDER BY known_at").fetchall()
    assert [tuple(r) for r in rows] == [("2023-08-15", 101.0399), ("2024-03-01", 101.5)]
    assert store.read_series("cbr.fx.USD", asof="2024-02-29").iloc[0] == 101.0399
    assert store.read_series("cbr.fx.USD", asof="2024-03-01").iloc[0] == 101.5
    assert store.read_series("cbr.fx.USD").iloc[0] == 101.5


def test_read_series_range_and_index(store):
    store.upsert_series([USD])
    store.write_observations([obs("cbr.fx.USD", d, v) for d, v in
                              [("2023-08-11", 97.3), ("2023-08-12", 97.0), ("2023-08-15", 101.0399)]],
                             fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
    s = store.read_series("cbr.fx.USD", start="2023-08-12", end="2023-08-15")
    assert list(s.index.strftime("%Y-%m-%d")) == ["2023-08-12", "2023-08-15"]
    assert s.index.name == "date" and s.dtype == float


def test_unregistered_series_is_refused(store):
    with pytest.raises(StoreError, match="not registered"):
        store.write_observations([obs("nope", "2024-01-01", 1.0)], fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))


def test_derived_series_point_in_time_and_revisions(store):
    info = SeriesInfo("stress.index", "stress", "index", "0-1", "D")
    values = pd.Series([0.1, 0.2], index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    assert store.write_derived(info, values) == 2
    assert store.write_derived(info, values) == 0
    revised = pd.Series([0.1, 0.25], index=values.index)
    assert store.write_derived(info, revised, asof=dt.date(2024, 2, 1)) == 1
    assert store.read_series("stress.index", asof="2024-01-31").tolist() == [0.1, 0.2]
    assert store.read_series("stress.index").tolist() == [0.1, 0.25]


def test_payload_archive_round_trip_redacts_secrets(store):
    req = Request("GET", "https://api.example/fred/series/observations",
                  params=(("series_id", "DFF"), ("api_key", "abcdef0123456789abcdef0123456789")),
                  context=(("kind", "json"),))
    pid = store.save_payload(source="fred", request=req, status=200, content_type="application/json",
                             body=b'{"observations": []}', fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC),
                             parser_version="1")
    again = store.save_payload(source="fred", request=req, status=200, content_type="application/json",
                               body=b'{"observations": []}', fetched_at=dt.datetime(2024, 1, 2, tzinfo=UTC),
                               parser_version="1")
    assert again == pid
    raw = store.conn.execute("SELECT url, request_json, size, length(body) AS stored FROM raw_payloads").fetchone()
    assert "abcdef0123456789" not in raw["url"] and "abcdef0123456789" not in raw["request_json"]
    (payload,) = list(store.iter_payloads("fred"))
    assert payload.body == b'{"observations": []}'
    assert payload.request.context_get("kind") == "json"
    assert payload.fetched_at == dt.datetime(2024, 1, 1, tzinfo=UTC)


def test_ledger_rows_commit_with_the_partition(store):
    store.upsert_series([USD])
    store.ledger_start("fetch:cbr", "2023", dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0)],
                                     fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
            store.ledger_finish("fetch:cbr", "2023", "success", rows=1, conn=conn,
                                covered=(dt.date(2023, 1, 1), dt.date(2023, 12, 31)))
            raise RuntimeError("crash between write and commit")
    assert store.read_series("cbr.fx.USD").empty
    row = store.ledger_get("fetch:cbr", "2023")
    assert row["status"] == "running" and row["attempts"] == 1
    store.ledger_start("fetch:cbr", "2023")
    store.ledger_finish("fetch:cbr", "2023", "failed", error="boom api_key=SECRET")
    row = store.ledger_get("fetch:cbr", "2023")
    assert row["attempts"] == 2 and row["status"] == "failed" and "SECRET" not in row["error"]


def test_concurrent_writer_waits_for_the_lock(tmp_path):
    a = Store.open(tmp_path / "sw.db")
    b = Store.open(tmp_path / "sw.db", busy_timeout=0.2)
    with a.transaction():
        with pytest.raises(StoreError, match="write transaction"):
            with b.transaction():
                pass
    a.close()
    b.close()


def test_all_vintages_and_last_observation_date(store):
    store.upsert_series([USD])
    store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.0399), obs("cbr.fx.USD", "2023-08-16", 97.4217)],
                             fetched_at=dt.datetime(2024, 1, 1, tzinfo=UTC))
    store.write_observations([obs("cbr.fx.USD", "2023-08-15", 101.5)], fetched_at=dt.datetime(2024, 3, 1, tzinfo=UTC))
    frame = store.all_vintages("cbr.fx.USD")
    assert list(frame.columns) == ["date", "known_at", "value"]
    assert frame["value"].tolist() == [101.0399, 101.5, 97.4217]
    assert store.last_observation_date("cbr", dt.date(2023, 8, 15)) == dt.date(2023, 8, 15)
    assert store.last_observation_date("cbr", dt.date(2023, 8, 31)) == dt.date(2023, 8, 16)
    assert store.last_observation_date("cbr", dt.date(2023, 1, 1)) is None
