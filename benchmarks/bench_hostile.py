"""Benchmark: what a hostile or absent source costs (issues 13 and 14), each against a baseline
measured in the same run.

1. Offline `stresswatch run` on a fresh store, every source's host a closed local port or an
   unresolvable name, as a subprocess: wall time, against the same run with the fetch step left
   out of `[daemon] steps` (the rest of the daily cycle on an empty store).
2. `backfill` of one CBR year against a server answering 200 MB: wall time and peak RSS of the
   subprocess, against the same backfill answered by a small real-sized body.
   The same with no Content-Length (read up to the 16 MB cap, then stopped).
3. `backfill` of one CBR year against a server trickling a byte every 20 ms with
   `[sources.cbr] timeout = 2` and `[http] retries = 1` (two attempts): wall time, against the
   small-answer backfill plus the two deadlines.

Run:  python benchmarks/bench_hostile.py
Prints one table. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.fakes.hostile import HostileServer, answer, flood, trickle  # noqa: E402

SOURCES = ("bis", "cbr", "comtrade", "fred", "gdelt", "imf", "moex")
SMALL = ('<?xml version="1.0" encoding="windows-1251"?><ValCurs ID="R01235" DateRange1="01.01.2023" '
         'DateRange2="31.12.2023" name="Foreign Currency Market Dynamic">'
         + "".join(f'<Record Date="{d:02d}.02.2023" Id="R01235"><Nominal>1</Nominal><Value>70,{d:04d}</Value>'
                   "</Record>" for d in range(1, 28)) + "</ValCurs>").encode("cp1251")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cli(folder: Path, config: str, *argv: str) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB, exit code) of one stresswatch command in a fresh process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_")}
    env["STRESSWATCH_HOME"] = str(folder / "home")
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / f"c{time.monotonic_ns()}.toml"
    cfg.write_text(config)
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "stresswatch", "--config", str(cfg), *argv],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def offline(folder: Path, with_fetch: bool) -> float:
    lines = [f'[store]\npath = "{folder / ("a.db" if with_fetch else "b.db")}"\n']
    if not with_fetch:
        lines.append('[daemon]\nsteps = ["compute", "events", "report", "alerts", "mail"]\n')
    for source in SOURCES:
        host = "no-such-host.invalid" if source == "gdelt" else f"127.0.0.1:{closed_port()}"
        lines.append(f'[sources.{source}]\nbase_url = "http://{host}"\n')
    seconds, _, _ = cli(folder / ("a" if with_fetch else "b"), "\n".join(lines), "run", "--date", "2024-05-31")
    return seconds


def cbr_backfill(folder: Path, url: str, http: str = "", cbr: str = "") -> tuple[float, float, int]:
    config = (f'[store]\npath = "{folder / f"{time.monotonic_ns()}.db"}"\n[http]\nbackoff_factor = 0.0\n{http}\n'
              f'[sources.cbr]\nbase_url = "{url}"\nmin_interval = 0.0\ncurrencies = ["USD"]\nkeyrate = false\n{cbr}')
    return cli(folder, config, "backfill", "--start", "2023-01-01", "--end", "2023-12-31", "--source", "cbr")


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        full, without = offline(folder, True), offline(folder, False)
        rows.append(("offline run, fresh store", f"{full:.2f} s", f"{without:.2f} s (run without fetch)",
                     f"{full / without:.2f}"))
        with HostileServer(answer(SMALL)) as server:
            small_s, small_mb, _ = cbr_backfill(folder, server.base_url)
        for declared in (True, False):
            what = "200 MB answer" + ("" if declared else ", no length")
            with HostileServer(flood(200 * 1024 * 1024, declare_length=declared)) as server:
                big_s, big_mb, _ = cbr_backfill(folder, server.base_url)
            rows.append((f"{what}: wall", f"{big_s:.2f} s", f"{small_s:.2f} s (small answer)",
                         f"{big_s / small_s:.2f}"))
            rows.append((f"{what}: peak RSS", f"{big_mb:.0f} MB", f"{small_mb:.0f} MB (small answer)",
                         f"{big_mb / small_mb:.2f}"))
        with HostileServer(trickle(b"<ValCurs>" + b" " * 100_000 + b"</ValCurs>", every=0.02)) as server:
            slow_s, _, _ = cbr_backfill(folder, server.base_url, http="retries = 1\n", cbr="timeout = 2.0\n")
        budget = small_s + 2 * 2.0
        rows.append(("trickle, timeout 2 s x 2 attempts", f"{slow_s:.2f} s",
                     f"{budget:.2f} s (small answer + 2 deadlines)", f"{slow_s / budget:.2f}"))
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'measured':>10}  {'baseline':<36}  ratio")
    for name, measured, baseline, ratio in rows:
        print(f"{name:<{width}}  {measured:>10}  {baseline:<36}  {ratio}")


if __name__ == "__main__":
    main()
