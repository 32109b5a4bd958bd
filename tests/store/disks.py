"""Real small and read-only file systems for the store failure tests.

`tmpfs(folder, size)` mounts a real tmpfs (needs root and a `mount` binary: a container without
CAP_SYS_ADMIN cannot); `remount_read_only(folder)` turns it read-only. Tests that cannot mount fall
back to what an unprivileged user has: a file-size limit (`RLIMIT_FSIZE`, set in the subprocess
only) for a full disk, file permissions for a read-only store. Each test says which it used.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
from pathlib import Path
from typing import Iterator


def can_mount() -> bool:
    """True when this process may mount a tmpfs (root with a `mount` binary and the capability)."""
    if os.geteuid() != 0 or shutil.which("mount") is None or shutil.which("umount") is None:
        return False
    probe = Path("/tmp") / f"stresswatch-mount-probe-{os.getpid()}"
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "3m") -> Iterator[Path]:
    """A real tmpfs of `size` mounted on `folder` (created), unmounted afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount_read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def fill(folder: Path, leave_bytes: int) -> Path:
    """Fill the file system holding `folder` until `leave_bytes` are free; returns the filler file."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    filler = folder / "filler.bin"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(free - leave_bytes, 0))
    return filler


def free_bytes(folder: Path) -> int:
    st = os.statvfs(folder)
    return st.f_bavail * st.f_frsize


def file_size_limit(limit: int):
    """A subprocess `preexec_fn` capping the size of every file it writes (EFBIG beyond; Python
    ignores SIGXFSZ, so the write fails instead of killing the process)."""
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply
