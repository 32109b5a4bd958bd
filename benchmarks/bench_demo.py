"""How long `stresswatch demo` takes (issue 13: "renders the report of 2023-08-16 in under a
minute"), cold and warm, against the `compute` it contains measured in the same run.

1. cold: `stresswatch demo` in a fresh process with an empty user data folder and an empty
   matplotlib cache (what a first-time user waits for: imports, font cache, load, compute, report);
2. warm: the same again (the demo store is rebuilt from scratch; caches exist);
3. baseline: the same data work without the demo command, in a fresh process: load the sample
   into a new store and `compute` as of 2023-08-16 (a first compute: every regime model is
   fitted, as in the demo), timed inside and out.

Prints wall-clock and CPU seconds (the machine is shared: CPU time is the steadier figure), the
demo's own step times, the ratio warm demo / baseline (what the demo adds: its report and
bookkeeping), and the sample's size.

    python benchmarks/bench_demo.py
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system of the child) and stdout of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


BASELINE = """
import datetime as dt, sys, time
from pathlib import Path
from stresswatch import settings as settings_mod
from stresswatch.compute import compute
from stresswatch.demo.build import config_text
from stresswatch.demo.sample import read_sample
from stresswatch.store import Store

folder = Path(sys.argv[1])
folder.mkdir(parents=True)
config = folder / "stresswatch.toml"
config.write_text(config_text(folder), encoding="utf-8")
settings = settings_mod.load(config, environ={})
t0 = time.perf_counter()
sample = read_sample()
with Store.open(settings.store_path) as store:
    store.observations.upsert_series(sample.series)
    store.observations.write_observations(sample.observations, fetched_at=dt.datetime.now(dt.timezone.utc))
    t1 = time.perf_counter()
    compute(store, settings, dt.date(2023, 8, 16))
print(f"load {t1 - t0:.1f} compute {time.perf_counter() - t1:.1f}")
"""


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench_demo_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_")}
    env.update(STRESSWATCH_HOME=str(tmp / "home"), MPLCONFIGDIR=str(tmp / "mpl"))
    exe = [sys.executable, "-m", "stresswatch"]
    sample = resources.files("stresswatch.demo.data").joinpath("cbr_sample.csv.gz").read_bytes()
    print(f"sample: {len(sample):,} bytes compressed (stresswatch/demo/data/cbr_sample.csv.gz)")
    rows = []
    for label in ("cold (empty caches)", "warm"):
        wall, cpu, out = run([*exe, "demo"], env)
        steps = re.search(r"took ([\d.]+) s \(load ([\d.]+) s, compute ([\d.]+) s, report ([\d.]+) s\)", out)
        rows.append((label, wall, cpu, steps.groups() if steps else ("?",) * 4))
    wall_c, cpu_c, base = run([sys.executable, "-c", BASELINE, str(tmp / "baseline")], env)
    print(f"\n{'':<24}{'wall s':>8}{'CPU s':>8}   inside the command: total / load / compute / report")
    for label, wall, cpu, steps in rows:
        print(f"{'demo, ' + label:<24}{wall:>8.1f}{cpu:>8.1f}   {' / '.join(steps)} s")
    print(f"{'baseline: load+compute':<24}{wall_c:>8.1f}{cpu_c:>8.1f}   {base.strip()} s")
    print(f"\nratio warm demo / baseline: wall {rows[1][1] / wall_c:.2f}, CPU {rows[1][2] / cpu_c:.2f}; "
          f"budget 60 s wall: cold {'met' if rows[0][1] < 60 else 'MISSED'}, warm {'met' if rows[1][1] < 60 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
