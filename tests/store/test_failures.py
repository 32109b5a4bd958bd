"""SQLite and file-system failures through the real CLI (issue 14, item 9): a full disk (a real 3 MB
tmpfs when this process may mount one, else a file-size limit), random bytes in the middle pages
of a real store, a 0-byte file, a read-only store (a tmpfs remounted read-only, else file
permissions). Each ends in one line naming the file and what to do: no traceback, no raw sqlite3
error, no ledger row left `running`, nothing written into a damaged store."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stresswatch.errors import StoreCorrupt, StoreReadOnly
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.store import Store
from tests.conftest import REPO
from tests.fakes.cbr import FakeCbr, synthetic_history
from tests.store.peek import peek_file
from tests.store.disks import can_mount, file_size_limit, fill, free_bytes, remount_read_only, tmpfs

START, END = dt.date(2013, 1, 1), dt.date(2014, 6, 30)
MOUNTABLE = can_mount()


@pytest.fixture
def fake():
    with FakeCbr(synthetic_history(START, END)) as server:
        yield server


def _cli(db: Path, *argv: str, fake: FakeCbr | None = None, preexec=None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_") or k == "STRESSWATCH_HOME"}
    env.update({"STRESSWATCH_STORE__PATH": str(db), "STRESSWATCH_HTTP__BACKOFF_FACTOR": "0",
                "STRESSWATCH_SOURCES__CBR__MIN_INTERVAL": "0"})
    if fake is not None:
        env["STRESSWATCH_SOURCES__CBR__BASE_URL"] = fake.base_url
    return subprocess.run([sys.executable, "-m", "stresswatch", *argv], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180, preexec_fn=preexec)


def _backfill(db: Path, fake: FakeCbr, preexec=None) -> subprocess.CompletedProcess:
    return _cli(db, "backfill", "--start", START.isoformat(), "--end", END.isoformat(), "--source", "cbr",
                fake=fake, preexec=preexec)


def _one_clear_line(stderr: str, *expected: str) -> str:
    """The `stresswatch: error:` line (exactly one), with none of Python's or sqlite3's own words."""
    assert "Traceback" not in stderr and "sqlite3." not in stderr and "OperationalError" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("stresswatch: error:")]
    assert len(errors) == 1, stderr
    assert any(word in errors[0] for word in expected), errors[0]
    return errors[0]


def _clear_failure_lines(stderr: str, *expected: str) -> list[str]:
    """A failure the pipeline records per partition: each reported in one line (its log line, or
    the command's `stresswatch: error:` line) naming what happened; no traceback, no raw sqlite3."""
    assert "Traceback" not in stderr and "sqlite3." not in stderr and "OperationalError" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if any(word in line for word in expected)]
    assert lines, stderr
    return lines


def _statuses(db: Path) -> dict[str, str]:
    with Store.open(db, create=False) as store:
        return {f"{r['job']} {r['partition']}": r["status"] for r in store.ledger.rows()}


def _history_store(db: Path, days: int = 1500) -> None:
    """A real store holding `days` business days of three currencies (several hundred pages)."""
    dates = [d.date() for d in pd.bdate_range("2015-01-01", periods=days)]
    rng = random.Random(7)
    with Store.open(db) as store:
        store.observations.upsert_series([SeriesInfo(f"cbr.fx.{c}", "cbr", f"RUB per 1 {c}", "RUB", "D")
                                          for c in ("USD", "EUR", "CNY")])
        rows = [Observation(f"cbr.fx.{c}", d, 60 + rng.random()) for c in ("USD", "EUR", "CNY") for d in dates]
        store.observations.write_observations(rows, fetched_at=dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc))


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Disk full
# ---------------------------------------------------------------------------------------------
def test_disk_full_is_one_clear_line_and_no_row_is_left_running(tmp_path, fake):
    if MOUNTABLE:  # a real 3 MB tmpfs, filled until 200 KB are left
        with tmpfs(tmp_path / "small", "3m") as folder:
            db = folder / "sw.db"
            Store.open(db).close()
            filler = fill(folder, 200 * 1024)
            assert free_bytes(folder) <= 200 * 1024
            full = _backfill(db, fake)
            lines = _clear_failure_lines(full.stderr, "disk full")
            assert all(str(db) in line and "free space" in line for line in lines) and full.returncode == 1
            assert "running" not in _statuses(db).values()
            filler.unlink()  # space again: the same command completes and the store is sound
            again = _backfill(db, fake)
            assert again.returncode == 0, again.stderr
            assert set(_statuses(db).values()) == {"success"}
            with Store.open(db) as store:
                assert store.integrity_check() == "ok"
    else:  # no mount here: a file-size limit in the subprocess (EFBIG: SQLite's I/O error)
        db = tmp_path / "sw.db"
        Store.open(db).close()
        full = _backfill(db, fake, preexec=file_size_limit(db.stat().st_size + 64 * 1024))
        lines = _clear_failure_lines(full.stderr, "I/O error", "disk full")
        assert all(str(db) in line for line in lines) and full.returncode == 1
        assert "running" not in _statuses(db).values()
        again = _backfill(db, fake)
        assert again.returncode == 0, again.stderr
        assert set(_statuses(db).values()) == {"success"}


# ---------------------------------------------------------------------------------------------
# Damaged, empty, not a database
# ---------------------------------------------------------------------------------------------
def _damage_middle_pages(db: Path, seed: int = 14) -> None:
    """Random bytes over a run of pages in the middle of the file: data pages, which only
    quick_check finds (page 1, the header, and the schema's pages, which every opening reads, intact)."""
    size = db.stat().st_size
    page = int.from_bytes(db.read_bytes()[16:18], "big")
    pages = size // page
    schema = {r["pageno"] for r in peek_file(db, "SELECT pageno FROM dbstat WHERE name = 'sqlite_schema'")}
    rng = random.Random(seed)
    with open(db, "r+b") as fh:
        for n in range(pages * 2 // 5, pages * 3 // 5):
            if n + 1 in schema:  # file offset n * page is page n + 1
                continue
            fh.seek(n * page)
            fh.write(bytes(rng.randrange(256) for _ in range(page)))


def test_random_bytes_in_middle_pages_reads_fail_clearly_and_writes_are_refused(tmp_path, fake):
    db = tmp_path / "sw.db"
    _history_store(db)
    _damage_middle_pages(db)
    before = _sha(db)
    read = _cli(db, "series", "show", "cbr.fx.USD", "--format", "csv")
    line = _one_clear_line(read.stderr, "damaged")
    assert read.returncode == 1 and str(db) in line and ".recover" in line
    write = _backfill(db, fake)
    line = _one_clear_line(write.stderr, "damaged (quick_check:")
    assert write.returncode == 1 and "will not write" in line
    assert fake.count() == 0  # refused before anything was fetched ...
    assert _sha(db) == before  # ... and nothing was written into it
    with Store.open(db) as store:  # the library says the same
        with pytest.raises(StoreCorrupt, match="damaged"):
            store.ledger.start("fetch:cbr", "x")


def test_an_empty_file_is_not_taken_for_a_new_store(tmp_path, fake):
    db = tmp_path / "sw.db"
    db.touch()
    for argv in (("series", "list"), ("backfill", "--start", "2013-01-01", "--end", "2013-12-31", "--source", "cbr")):
        result = _cli(db, *argv, fake=fake)
        line = _one_clear_line(result.stderr, "empty file (0 bytes)")
        assert result.returncode == 1 and str(db) in line
    assert db.stat().st_size == 0 and fake.count() == 0
    assert not db.with_name("sw.db-wal").exists()


def test_a_file_that_is_not_sqlite_is_named(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("shopping list\n" * 50)
    result = _cli(db, "status")
    line = _one_clear_line(result.stderr, "not a stresswatch store")
    assert result.returncode == 1 and str(db) in line


def test_a_header_that_does_not_match_the_file_is_checked_before_use(tmp_path):
    db = tmp_path / "sw.db"
    _history_store(db, days=300)
    with open(db, "ab") as fh:  # a torn tail: half a page appended
        fh.write(b"\x00" * 2048)
    with Store.open(db, create=False) as store:  # quick_check ran on open and found nothing wrong
        assert store.observations.series_info("cbr.fx.USD") is not None
    _damage_middle_pages(db)
    with pytest.raises(StoreCorrupt, match="damaged"):  # now it finds the damage before any read
        Store.open(db, create=False)


# ---------------------------------------------------------------------------------------------
# Read-only
# ---------------------------------------------------------------------------------------------
def _assert_read_only_behaviour(db: Path, reason: str) -> None:
    read = _cli(db, "series", "show", "cbr.fx.USD", "--start", "2015-01-01", "--end", "2015-01-09", "--format", "csv")
    assert read.returncode == 0, read.stderr
    assert read.stdout.splitlines()[0] == "date,value" and len(read.stdout.splitlines()) == 8
    for argv in (("compute", "--asof", "2020-01-10"),
                 ("backfill", "--start", "2013-01-01", "--end", "2013-12-31", "--source", "cbr")):
        write = _cli(db, *argv)
        line = _one_clear_line(write.stderr, "read-only")
        assert write.returncode == 1 and reason in line and f"stresswatch {argv[0]} writes" in line
    with Store.open(db, create=False) as store:
        assert store.read_only is not None and reason in store.read_only
        with pytest.raises(StoreReadOnly, match="read-only"):
            store.ledger.start("fetch:cbr", "x")


@pytest.mark.skipif(not MOUNTABLE, reason="needs root to mount a tmpfs read-only")
def test_read_only_file_system_reads_work_and_writes_say_why(tmp_path):
    with tmpfs(tmp_path / "ro", "16m") as folder:
        db = folder / "sw.db"
        _history_store(db)
        remount_read_only(folder)
        _assert_read_only_behaviour(db, "read-only file system")


@pytest.mark.skipif(not MOUNTABLE, reason="needs root to mount a tmpfs read-only")
def test_read_only_store_left_with_a_write_ahead_log_is_read_whole(tmp_path):
    """A writer killed before its checkpoint leaves rows only in the -wal file: read-only opening
    must still see them (mode=ro, not immutable)."""
    with tmpfs(tmp_path / "ro", "16m") as folder:
        db = folder / "sw.db"
        _history_store(db, days=10)
        code = ("import datetime as dt, os\n"
                "from stresswatch.store import Store\nfrom stresswatch.fetchers.base import Observation\n"
                f"s = Store.open({str(db)!r})\n"
                "s.observations.write_observations([Observation('cbr.fx.USD', dt.date(2016, 6, 1), 99.5)], "
                "fetched_at=dt.datetime(2021, 2, 1, tzinfo=dt.timezone.utc))\nos._exit(0)\n")
        subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)
        assert db.with_name("sw.db-wal").stat().st_size > 0
        remount_read_only(folder)
        read = _cli(db, "series", "show", "cbr.fx.USD", "--start", "2016-06-01", "--format", "csv")
        assert read.returncode == 0, read.stderr
        assert read.stdout.splitlines()[1:] == ["2016-06-01,99.5"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions (the tmpfs tests cover root)")
def test_read_only_permissions_reads_work_and_writes_say_why(tmp_path):
    db = tmp_path / "store" / "sw.db"
    db.parent.mkdir()
    _history_store(db)
    db.chmod(0o444)
    db.parent.chmod(0o555)
    try:
        _assert_read_only_behaviour(db, "no write permission")
    finally:
        db.parent.chmod(0o755)
