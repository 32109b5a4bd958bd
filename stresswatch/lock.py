"""The single-instance lock: one writer at a time (daemon, fetch, backfill, compute, run...).

The lock is an exclusive `flock` on `<store>.lock` beside the store. The holder writes one line
into it - the command it runs, its pid and since when (`stresswatch backfill (pid 4242, since
2024-05-31T16:30:02Z)`) - so the error another writer gets names it. Every problem with the lock
path itself (a folder in its place, no permission, a read-only file system, a missing folder) is a
LockError with one line saying what to fix; never a raw OSError.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from stresswatch.errors import LockError, LockHeld


def lock_path_for(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


def holder_line(holder: str, pid: int | None = None, now: dt.datetime | None = None) -> str:
    """What the lock file says about its holder: `stresswatch backfill (pid 4242, since ...Z)`."""
    since = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{holder or 'stresswatch'} (pid {pid if pid is not None else os.getpid()}, since {since})"


def read_holder(path: Path) -> str:
    """The holder line of a lock file ("" when it cannot be read)."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()[:300]
    except OSError:
        return ""


def _open_lock_file(path: Path) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except IsADirectoryError:
        raise LockError(f"the lock path {path} is a folder, not a file: remove it (it must be free for the writer "
                        "lock beside the store)") from None
    except FileNotFoundError:
        raise LockError(f"cannot create the lock file {path}: its folder {path.parent} does not exist") from None
    except PermissionError:
        raise LockError(f"cannot create or open the lock file {path}: permission denied (commands that write need "
                        "write access to the store's folder)") from None
    except OSError as exc:
        if exc.errno == errno.EROFS:
            raise LockError(f"cannot create the lock file {path}: the store's folder is on a read-only file system "
                            "(commands that write need it writable)") from None
        raise LockError(f"cannot create or open the lock file {path}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def single_instance(store_path: Path, wait: float = 0.0, holder: str = "") -> Iterator[Path]:
    """Hold an exclusive flock on `<store>.lock`; wait up to `wait` seconds, then raise LockError.

    `holder` names the command (e.g. "stresswatch backfill"); the lock file records it with the pid
    so the error can name it. The kernel drops the lock when the process dies (SIGKILL included),
    so a stale file never blocks a restart.
    """
    path = lock_path_for(Path(store_path))
    fd = _open_lock_file(path)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    other = read_holder(path)
                    raise LockHeld(
                        f"another stresswatch writer holds {path}"
                        + (f": {other}" if other else "")
                        + "; wait for it to finish or stop it (set [daemon] lock_wait to wait)") from None
                time.sleep(0.2)
            except OSError as exc:
                raise LockError(f"cannot lock {path}: {exc.strerror or exc}") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder_line(holder).encode("utf-8"), 0)
        except OSError as exc:
            raise LockError(f"cannot write the lock file {path}: {exc.strerror or exc}") from None
        yield path
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
