"""The single-instance lock: one writer at a time (daemon, fetch, backfill, compute, run...)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path
from typing import Iterator

from stresswatch.errors import LockError


def lock_path_for(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".lock")


@contextlib.contextmanager
def single_instance(store_path: Path, wait: float = 0.0, holder: str = "") -> Iterator[Path]:
    """Hold an exclusive flock on `<store>.lock`; wait up to `wait` seconds, then raise LockError.

    The lock file records the holder's pid and command so the error can name it. The kernel drops
    the lock when the process dies (SIGKILL included), so a stale file never blocks a restart.
    """
    path = lock_path_for(Path(store_path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    try:
                        other = Path(path).read_text().strip()
                    except OSError:
                        other = ""
                    raise LockError(
                        f"another stresswatch writer holds {path}"
                        + (f" ({other})" if other else "")
                        + "; wait for it to finish or stop it (set [daemon] lock_wait to wait)") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} {holder}".strip().encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
