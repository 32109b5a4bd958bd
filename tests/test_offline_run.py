"""Offline, the first `stresswatch run` (issue 13): every source's host is asked once -- a refused
connection or a name that does not resolve is recognised on the first failed connection and not
asked again in that run -- and each failing source gets one line of at most 160 characters naming
the host and the cause. The second run names the cooldown and its end and asks nothing;
`--ignore-cooldown` asks again, once per host.

The real CLI in a subprocess against closed local ports and an unresolvable name. Connection
attempts are counted from urllib3's own DEBUG lines ("Starting new HTTP connection"); nothing
here is timed (the wall time is in the closing note: see docs/data.md)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections import Counter

SOURCES = ("bis", "cbr", "comtrade", "fred", "gdelt", "imf", "moex")
LINE_MAX = 160


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(tmp_path) -> tuple[str, dict[str, str]]:
    hosts = {source: f"127.0.0.1:{closed_port()}" for source in SOURCES}
    hosts["gdelt"] = "no-such-host.invalid"  # a DNS failure, the laptop-on-a-train case
    lines = [f'[store]\npath = "{tmp_path / "sw.db"}"\n']
    for source, host in hosts.items():
        lines.append(f'[sources.{source}]\nbase_url = "http://{host}"\n')
    path = tmp_path / "offline.toml"
    path.write_text("\n".join(lines))
    return str(path), hosts


def run(tmp_path, cfg: str, *extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_")}
    env["STRESSWATCH_HOME"] = str(tmp_path / "home")
    return subprocess.run([sys.executable, "-m", "stresswatch", "--config", cfg, "--log-level", "DEBUG", "run",
                           "--date", "2024-05-31", *extra], capture_output=True, text=True, env=env, timeout=120)


def connections(stderr: str) -> Counter:
    """Connection attempts per host, as urllib3 logs them (`host:port`; the default port dropped)."""
    found = re.findall(r"Starting new HTTPS? connection \(\d+\): (\S+)", stderr)
    return Counter(host[:-3] if host.endswith(":80") else host for host in found)


def source_lines(stderr: str) -> dict[str, str]:
    """The run's one line per failing source: `stresswatch: <date> fetch: <line>` (the whole
    printed line, prefix included, within LINE_MAX)."""
    out = {}
    for line in stderr.splitlines():
        m = re.match(r"stresswatch: 2024-05-31 fetch: (\w+): (.*)$", line)
        if m:
            assert len(line) <= LINE_MAX, line
            out[m.group(1)] = f"{m.group(1)}: {m.group(2)}"
    return out


def own_lines(stderr: str) -> list[str]:
    """What the command itself says (its lines and the INFO-and-above log), not urllib3's DEBUG."""
    return [line for line in stderr.splitlines()
            if line.startswith("stresswatch:") or re.match(r"\S+ (INFO|WARNING|ERROR) stresswatch", line)]


def test_an_offline_first_run_asks_each_host_once_and_says_why_in_one_line(tmp_path):
    cfg, hosts = config(tmp_path)
    first = run(tmp_path, cfg)
    assert first.returncode == 1, first.stderr[-2000:]
    assert connections(first.stderr) == Counter({host: 1 for host in hosts.values()})
    lines = source_lines(first.stderr)
    assert set(lines) == set(SOURCES)
    for source, line in lines.items():
        assert len(line) <= LINE_MAX, line
        cause = "name not resolved" if source == "gdelt" else "connection refused"
        assert line == f"{source}: {hosts[source]} — {cause}"
    for line in own_lines(first.stderr):
        assert "Max retries" not in line and "HTTPConnectionPool" not in line and "NewConnectionError" not in line
        assert len(line) <= 250, line  # log lines carry a time stamp and a partition before the source line

    second = run(tmp_path, cfg)
    assert second.returncode == 1
    assert connections(second.stderr) == Counter()  # the cooldown: nobody asked
    lines = source_lines(second.stderr)
    assert set(lines) == set(SOURCES)
    for source, line in lines.items():
        assert len(line) <= LINE_MAX, line
        assert hosts[source] in line and re.search(r"not asked until (\d{4}-\d\d-\d\d )?\d\d:\d\dZ", line)
        assert "--ignore-cooldown" in line

    third = run(tmp_path, cfg, "--ignore-cooldown")
    assert third.returncode == 1
    assert connections(third.stderr) == Counter({host: 1 for host in hosts.values()})


def test_fetch_names_the_cooldown_and_its_flag_skips_it(tmp_path):
    cfg, hosts = config(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_")}
    env["STRESSWATCH_HOME"] = str(tmp_path / "home")

    def fetch(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "stresswatch", "--config", cfg, "--log-level", "DEBUG", "fetch",
                               "--source", "cbr", "--date", "2024-05-31", *extra], capture_output=True, text=True,
                              env=env, timeout=120)

    assert connections(fetch().stderr) == Counter({hosts["cbr"]: 1})
    cooling = fetch()
    assert connections(cooling.stderr) == Counter() and cooling.returncode == 1
    (line,) = [x for x in cooling.stderr.splitlines() if x.startswith("stresswatch: cbr:")]
    assert re.search(r"not asked until (\d{4}-\d\d-\d\d )?\d\d:\d\dZ", line) and len(line) <= LINE_MAX
    assert connections(fetch("--ignore-cooldown").stderr) == Counter({hosts["cbr"]: 1})
