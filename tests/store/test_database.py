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
