"""The database under every gateway: opening (WAL), migrations (also by several openers at once), errors,
the write lock."""

import threading

import pytest

from stresswatch.errors import StoreError
from stresswatch.store import Store
from tests.store.peek import peek


def test_open_sets_wal_and_migrates_once(tmp_path):
    path = tmp_path / "nested" / "sw.db"
    with Store.open(path, create_folder=True) as s:  # a missing folder is made only when asked (issue 13)
        assert peek(s, "PRAGMA journal_mode")[0][0] == "wal"
        names = [r[0] for r in peek(s, "SELECT name FROM schema_migrations")]
        assert "0001_core.sql" in names
    with Store.open(path) as s:  # reopening applies nothing twice
        assert s.migrate() == []
        assert s.integrity_check() == "ok"


def test_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="junk.db"):
        Store.open(path)


def test_concurrent_writer_waits_for_the_lock(tmp_path):
    a = Store.open(tmp_path / "sw.db")
    b = Store.open(tmp_path / "sw.db", busy_timeout=0.2)
    with a.transaction():
        with pytest.raises(StoreError, match="write transaction"):
            with b.transaction():
                pass
    a.close()
    b.close()


def test_stores_opened_at_once_on_a_new_file_migrate_it_once(tmp_path):
    path = tmp_path / "sw.db"
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def open_one() -> None:
        start.wait()
        try:
            Store.open(path).close()
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with Store.open(path) as s:
        names = [r[0] for r in peek(s, "SELECT name FROM schema_migrations")]
    assert len(names) == len(set(names)) and "0001_core.sql" in names


def test_a_migration_that_leaves_dangling_references_is_rolled_back(tmp_path, monkeypatch):
    """Migrations run with foreign keys off (so a table can be rebuilt), and are checked before
    they commit: one that would leave rows pointing at nothing is not applied."""
    import datetime as dt

    from stresswatch.fetchers.base import Observation, Request, SeriesInfo
    from stresswatch.store import database

    at = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    with Store.open(tmp_path / "sw.db") as store:
        pid = store.payloads.save(source="cbr", request=Request("GET", "http://cbr.test/x"), status=200,
                                  content_type="text/xml", body=b"<a/>", fetched_at=at, parser_version="1")
        store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB", "D")])
        store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2026, 6, 1), 80.0)],
                                              fetched_at=at, payload_id=pid)
    monkeypatch.setattr(database, "MIGRATIONS", "tests.store.dangling_migration")
    with pytest.raises(StoreError, match="9999_drop_payloads.sql failed.*reference missing rows of raw_payloads"):
        Store.open(tmp_path / "sw.db")
    monkeypatch.undo()
    with Store.open(tmp_path / "sw.db") as store:
        assert [p.id for p in store.payloads.iter()] == [pid]
        assert "9999_drop_payloads.sql" not in {r[0] for r in peek(store, "SELECT name FROM schema_migrations")}
        with pytest.raises(StoreError, match="FOREIGN KEY"):  # the store's connection has them on again
            store.observations.write_observations([Observation("cbr.fx.USD", dt.date(2026, 6, 2), 81.0)],
                                                  fetched_at=at, payload_id=pid + 1)
