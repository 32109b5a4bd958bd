"""The replay server for manual runs (`python -m tests.fakes.replay`): a busy port is named in one
line with exit code 2, never an OSError traceback; it is checked before the history is loaded, so
this runs on a fresh clone too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.conftest import REPO


def _replay(*argv: str, shared: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, STRESSWATCH_SHARED=shared)
    return subprocess.run([sys.executable, "-m", "tests.fakes.replay", *argv], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


def test_a_busy_port_is_one_clear_line_and_exit_2(tmp_path):
    for taken_offset in (0, 1):  # the Bank of Russia port or the one after it (the other sources)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1] - taken_offset
            result = _replay("--port", str(port), "--config", str(tmp_path / "c.toml"), shared=str(tmp_path))
        busy = port + taken_offset
        assert result.returncode == 2
        assert "Traceback" not in result.stderr and "OSError" not in result.stderr
        assert result.stderr.strip().splitlines() == [
            f"replay: port {busy} on 127.0.0.1 is not free (Address already in use); "
            "choose free ports with --port N (N and N+1 are used)"]
        assert not (tmp_path / "c.toml").exists()


def test_missing_history_is_one_clear_line_and_exit_2(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _replay("--port", str(port), shared=str(tmp_path / "absent"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "is absent (set STRESSWATCH_SHARED" in result.stderr
