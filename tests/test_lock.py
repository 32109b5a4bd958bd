"""The single-instance writer lock (stresswatch.lock) through the real CLI: the holder is named by
its command and pid, never by `--config ...` (issue 14, item 11); a lock path that is a folder, on a
read-only file system or in a missing folder is one clear line (item 9); ledger rows a killed
writer left `running` are closed by the next writer."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stresswatch import cli
from stresswatch.errors import LockError, LockHeld
from stresswatch.lock import lock_path_for, single_instance
from stresswatch.store import Store
from tests.conftest import REPO
from tests.fakes.cbr import FakeCbr, synthetic_history
from tests.store.disks import can_mount, remount_read_only, tmpfs


def _config(tmp_path: Path, base_url: str = "http://127.0.0.1:9") -> Path:
    cfg = tmp_path / "stresswatch.toml"
    cfg.write_text(f'[store]\npath = "{tmp_path / "sw.db"}"\n[http]\nbackoff_factor = 0.0\nretries = 0\n'
                   f'[sources.cbr]\nbase_url = "{base_url}"\nmin_interval = 0.0\n')
    return cfg


def _error(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("stresswatch: error:")]
    return line


def _running(db: Path) -> list[str]:
    with Store.open(db, create=False) as store:
        return [r["partition"] for r in store.ledger.rows() if r["status"] == "running"]


def test_the_holder_is_named_by_its_command_and_a_killed_holders_rows_are_closed(tmp_path, capsys):
    with FakeCbr(synthetic_history(dt.date(2013, 1, 1), dt.date(2013, 12, 31))) as fake:
        fake.delay = 30.0  # the backfill waits on its first request, holding the lock
        cfg = _config(tmp_path, fake.base_url)
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_") or k == "STRESSWATCH_HOME"}
        holder = subprocess.Popen([sys.executable, "-m", "stresswatch", "--config", str(cfg), "backfill",
                                   "--start", "2013-01-01", "--end", "2013-12-31", "--source", "cbr"],
                                  cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60
            while not fake.count() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fake.count() >= 1, "the backfill never asked"
            started = time.monotonic()
            assert cli.main(["--config", str(cfg), "compute"]) == 1
            assert time.monotonic() - started < 5  # refused at once, not after the holder finished
            line = _error(capsys)
            assert re.search(rf"holds {re.escape(str(tmp_path / 'sw.db.lock'))}: stresswatch backfill "
                             rf"\(pid {holder.pid}, since \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ\)", line), line
            assert "--config" not in line
            assert _running(tmp_path / "sw.db") == ["2013-01-01..2013-12-31"]
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=30)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()
    # the next writer finds the row of a dead writer and closes it; it never stays `running`
    assert cli.main(["--config", str(cfg), "reparse"]) == 0
    with Store.open(tmp_path / "sw.db", create=False) as store:
        (row,) = store.ledger.rows("fetch:cbr")
    assert row["status"] == "failed" and row["error"].startswith("interrupted")


def test_a_lock_path_that_is_a_folder_is_one_clear_line(tmp_path, capsys):
    cfg = _config(tmp_path)
    Store.open(tmp_path / "sw.db").close()
    (tmp_path / "sw.db.lock").mkdir()
    assert cli.main(["--config", str(cfg), "compute"]) == 1
    line = _error(capsys)
    assert f"the lock path {tmp_path / 'sw.db.lock'} is a folder" in line


@pytest.mark.skipif(not can_mount(), reason="needs root to mount a read-only tmpfs")
def test_a_lock_file_on_a_read_only_file_system_is_one_clear_line(tmp_path, capsys):
    """The store's folder is writable, but its lock path leads (by a symlink) onto a read-only file
    system: opening the lock file for writing fails with EROFS."""
    with tmpfs(tmp_path / "ro", "1m") as ro:
        (ro / "lock").write_text("")
        remount_read_only(ro)
        cfg = _config(tmp_path)
        Store.open(tmp_path / "sw.db").close()
        (tmp_path / "sw.db.lock").symlink_to(ro / "lock")
        assert cli.main(["--config", str(cfg), "compute"]) == 1
        line = _error(capsys)
        assert "read-only file system" in line and "sw.db.lock" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions (the tmpfs test covers root)")
def test_a_lock_file_without_permission_is_one_clear_line(tmp_path, capsys):
    cfg = _config(tmp_path)
    Store.open(tmp_path / "sw.db").close()
    lock = tmp_path / "sw.db.lock"
    lock.write_text("")
    lock.chmod(0o000)
    assert cli.main(["--config", str(cfg), "compute"]) == 1
    assert "permission denied" in _error(capsys)


def test_single_instance_errors_are_typed(tmp_path):
    with pytest.raises(LockError, match="does not exist"):
        with single_instance(tmp_path / "missing" / "sw.db"):
            pass
    with single_instance(tmp_path / "sw.db", holder="stresswatch run"):
        assert lock_path_for(tmp_path / "sw.db").read_text().startswith(f"stresswatch run (pid {os.getpid()}, ")
        with pytest.raises(LockHeld, match=r"stresswatch run \(pid"):
            with single_instance(tmp_path / "sw.db", holder="stresswatch fetch"):
                pass
