"""The database under every gateway: opening (WAL), migrations, errors, the write lock."""

import pytest

from stresswatch.errors import StoreError
from stresswatch.store import Store
from tests.store.peek import peek


def test_open_sets_wal_and_migrates_once(tmp_path):
    path = tmp_path / "nested" / "sw.db"
    with Store.open(path) as s:
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
