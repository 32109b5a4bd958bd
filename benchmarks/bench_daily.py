"""The daily cycle's cost (issue 12) and compute's memory with all 55 Bank of Russia currencies
(issue 14), measured as fresh processes against baselines measured in the same run.

    python benchmarks/bench_daily.py                      # all parts, D = 2026-08-20
    python benchmarks/bench_daily.py --part compute --repeat 5
    python benchmarks/bench_daily.py --part growth --growth-days 63
    python benchmarks/bench_daily.py --code /path/to/other/checkout   # the same on other code

Stores: the observations 1999..D of every replayed source (CBR USD/EUR/CNY and key rate, BIS, FRED
Brent, MOEX, the synthetic IMF/Comtrade trade; `tests/fakes/indicators_real.replay_store`), and the
replay servers stay up so that `run` fetches from them as it would from the real sources.

Parts (targets from issue 12 and 14):
  compute  `compute --asof D` on a store where `compute --asof D-1` ran ("warm") against `compute
           --asof D` on the same observations with no derived state ("cold"); target warm/cold <= 0.10.
           The same pair with the regime update left out (`compute(..., run_regimes=False)` in a
           fresh process: the indicators-and-index share). Then one warm process instrumented by
           phase: interpreter and imports, the compute itself (Team B), the regime update (Team A,
           `regimes.update.update_all`).
  run      `run --date D` on a store that ran D-1 (observations to D-1; the run fetches D) against
           `run --date D` on a store holding only the observations 1999..D; target <= 0.25; steps
           by owner from the run's own report.
  growth   `run --start D0 --end D` for `--growth-days` business days after `run --date D0`, one
           process: the store's growth per table, scaled to a year of 252 business days; target
           <= 10 MB per year.
  memory   peak RSS of a cold `compute --asof D` with all 55 CBR currencies (52 synthetic: the
           real USD fixing dates, USD x a random-walk cross rate; only USD, EUR and CNY histories
           are in ../shared) and with 3; target <= 600 MB; and without the regime update.

The code is compiled to bytecode first (`compileall`), so no measured process pays for compiling
sources. Each ratio part also prints its floor: the CPU a fresh Python process spends importing the libraries
that kind of process needs (numpy and pandas; for `run` also Jinja2, matplotlib and Pillow),
measured in the same run, as a fraction of the cold cost and of what the target leaves the warm one.

Wall times on a shared 2-core machine are noisy: the script prints wall and CPU (user + system of
the child) medians; CPU is the steadier number.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stresswatch.fetchers.base import Observation, SeriesInfo  # noqa: E402
from stresswatch.fetchers.cbr import CBR_IDS  # noqa: E402
from stresswatch.store import Store  # noqa: E402
from tests.fakes.indicators_real import SOURCES, TRADE_SOURCES, replay_servers, replay_store  # noqa: E402

ALL_SOURCES = SOURCES + TRADE_SOURCES
#: which team's code each step of `run` and each compute phase is (docs/.../TEAM-RULES)
OWNERS = {"fetch": "C1 (fetchers, pipeline)", "compute": "B (indicators, compute) + A (regimes)",
          "events": "events (unowned)", "report": "D1 (reports)", "alerts": "D2 (alerts)", "mail": "C2 (mail)"}

PHASES = r'''
import json, resource, sys, time
t0 = time.perf_counter(); c0 = time.process_time()
sys.path.insert(0, sys.argv[1]) if sys.argv[1] else None
import datetime as dt
from stresswatch import settings as st
from stresswatch.store import Store
import stresswatch.compute as compute_mod
cfg = st.load(sys.argv[2], environ={})
day = dt.date.fromisoformat(sys.argv[3])
out = {"imports_cpu": time.process_time() - c0, "imports_wall": time.perf_counter() - t0}
with Store.open(cfg.store_path) as s:
    c1, t1 = time.process_time(), time.perf_counter()
    r = compute_mod.compute(s, cfg, day, run_regimes=sys.argv[4] == "1")
    out.update(compute_cpu=time.process_time() - c1, compute_wall=time.perf_counter() - t1,
               mode=getattr(r, "mode", "no mode reported"), regimes=r.regimes, code=compute_mod.__file__)
    if sys.argv[4] == "2":
        from stresswatch.regimes.update import update_all
        c2, t2 = time.process_time(), time.perf_counter()
        update_all(s, cfg, day)
        out.update(regimes_cpu=time.process_time() - c2, regimes_wall=time.perf_counter() - t2)
out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


class Runner:
    """Fresh processes of the CLI (or of a snippet) on `code` (default: this checkout)."""

    def __init__(self, code: Path | None):
        self.code = code

    def env(self) -> dict[str, str]:
        # the children run from bytecode, as an installed package does (`pip install .` compiles
        # it): PYTHONDONTWRITEBYTECODE in the caller's environment would make every fresh process
        # compile stresswatch's sources again, a constant that blurs the warm/cold ratios
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        if self.code is not None:
            env["PYTHONPATH"] = f"{self.code}{os.pathsep}{env.get('PYTHONPATH', '')}"
        return env

    def cli(self, config: Path, *args: str) -> dict:
        return self.measured(["-m", "stresswatch", "--config", str(config), *args])

    def measured(self, argv: list[str]) -> dict:
        """Like `run`, with the child's CPU and peak RSS read by os.wait4."""
        # output to files, not pipes: a child that fills one pipe while the other is read to its
        # end would wait forever (a year of `run` warns on stderr every day)
        with tempfile.TemporaryFile() as fout, tempfile.TemporaryFile() as ferr:
            t0 = time.perf_counter()
            # the working folder comes first on the path of `python -m`: run in the code's own folder
            p = subprocess.Popen([sys.executable, *argv], stdout=fout, stderr=ferr, env=self.env(),
                                 cwd=str(self.code or REPO))
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            fout.seek(0)
            ferr.seek(0)
            out, err = fout.read().decode(), ferr.read().decode()
        p.returncode = os.waitstatus_to_exitcode(status)
        return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "peak_mb": ru.ru_maxrss / 1024,
                "code": p.returncode, "out": out, "err": err}

    def phases(self, config: Path, day: dt.date, regimes: str) -> dict:
        """One compute in a fresh process, instrumented by phase (regimes: 0 off, 1 inside
        compute, 2 after compute, timed apart)."""
        r = self.measured(["-c", PHASES, str(self.code or REPO), str(config), day.isoformat(), regimes])
        if r["code"] != 0:
            raise RuntimeError(r["err"][-2000:])
        return {**json.loads(r["out"].strip().splitlines()[-1]), "cpu": r["cpu"], "wall": r["wall"],
                "process_peak_mb": r["peak_mb"]}


# ---------------------------------------------------------------------------------------------
#: the libraries a fresh process of each kind imports before it does any work
FLOOR_IMPORTS = {
    "compute": ("numpy, pandas", "import numpy, pandas"),
    "run": ("numpy, pandas, Jinja2, matplotlib (Agg), Pillow",
            "import numpy, pandas, jinja2, matplotlib; matplotlib.use('Agg'); import matplotlib.figure, "
            "matplotlib.dates, matplotlib.backends.backend_agg, PIL.Image"),
}


def floor_line(runner: Runner, kind: str, cold_cpu: float, target: float, repeat: int) -> str:
    """The CPU a fresh Python process spends importing the libraries `kind` needs (numpy, pandas;
    for `run` also Jinja2, matplotlib and Pillow), measured now, as a fraction of the cold cost:
    warm costs at least this much whatever stresswatch does, so a target below it is out of reach
    for this stack."""
    label, code = FLOOR_IMPORTS[kind]
    cpu = statistics.median(runner.measured(["-c", code])["cpu"] for _ in range(max(repeat, 3)))
    return (f"  floor: a fresh python importing {label}: {cpu:5.2f} CPU s = {cpu / cold_cpu:.3f} of cold "
            f"({cpu / (target * cold_cpu):.0%} of what the target leaves a warm {kind})")


# ---------------------------------------------------------------------------------------------
def config_for(base: Path, store: Path, folder: Path) -> Path:
    """The replay's settings file with the store at `store` and the reports beside it."""
    text = base.read_text()
    text = re.sub(r'(?m)^path = ".*"$', f'path = "{store}"', text, count=1)
    text += f'\n[report]\nout = "{folder / (store.stem + "_reports")}"\n'
    out = folder / f"{store.stem}.toml"
    out.write_text(text)
    return out


def fresh_copy(src: Path, dst: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
        if Path(f"{src}{suffix}").exists():
            shutil.copy(f"{src}{suffix}", f"{dst}{suffix}")
    return dst


def med(rows: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rows)


def check(r: dict, what: str) -> dict:
    if r["code"] not in (0, 1):
        raise RuntimeError(f"{what} exited {r['code']}: {r['err'][-2000:]}")
    return r


def part_compute(runner: Runner, folder: Path, base_cfg: Path, obs: Path, day: dt.date, repeat: int) -> list[str]:
    prev = (pd.Timestamp(day) - pd.offsets.BDay(1)).date()
    warm_base = fresh_copy(obs, folder / "warm_base.db")
    check(runner.cli(config_for(base_cfg, warm_base, folder), "compute", "--asof", prev.isoformat()), "prep")
    cold_runs, warm_runs, modes = [], [], []
    for _ in range(repeat):
        cold = fresh_copy(obs, folder / "cold.db")
        cold_runs.append(check(runner.cli(config_for(base_cfg, cold, folder), "compute", "--asof", day.isoformat(),
                                          "--format", "json"), "cold compute"))
        warm = fresh_copy(warm_base, folder / "warm.db")
        r = check(runner.cli(config_for(base_cfg, warm, folder), "compute", "--asof", day.isoformat(),
                             "--format", "json"), "warm compute")
        warm_runs.append(r)
        modes.append(json.loads(r["out"]).get("mode", "no mode reported") if r["out"].strip().startswith("{")
                     else "?")
    # the same pair with the regime update left out (compute(..., run_regimes=False) in a fresh
    # process): Team B's share of the ratio, apart from Team A's regime update
    cold_b, warm_b = [], []
    for _ in range(repeat):
        cold_b.append(runner.phases(config_for(base_cfg, fresh_copy(obs, folder / "cold.db"), folder), day, "0"))
        warm_b.append(runner.phases(config_for(base_cfg, fresh_copy(warm_base, folder / "warm.db"), folder), day, "0"))
    warm = fresh_copy(warm_base, folder / "warm.db")
    ph = runner.phases(config_for(base_cfg, warm, folder), day, "2")
    lines = [f"compute --asof {day}, fresh processes, median of {repeat} (wall / CPU seconds):",
             f"  cold (observations only)            {med(cold_runs, 'wall'):7.2f} / {med(cold_runs, 'cpu'):6.2f}",
             f"  warm (after compute --asof {prev})  {med(warm_runs, 'wall'):7.2f} / {med(warm_runs, 'cpu'):6.2f}"
             f"   mode: {', '.join(sorted(set(modes)))}",
             f"  warm / cold                         {med(warm_runs, 'wall') / med(cold_runs, 'wall'):7.3f} / "
             f"{med(warm_runs, 'cpu') / med(cold_runs, 'cpu'):6.3f}   (target <= 0.10)",
             floor_line(runner, "compute", med(cold_runs, "cpu"), 0.10, repeat),
             f"  without the regime update (compute(run_regimes=False), fresh processes, median of {repeat}):",
             f"    cold {med(cold_b, 'wall'):7.2f} / {med(cold_b, 'cpu'):6.2f}   warm {med(warm_b, 'wall'):7.2f} / "
             f"{med(warm_b, 'cpu'):6.2f}   warm / cold {med(warm_b, 'wall') / med(cold_b, 'wall'):6.3f} / "
             f"{med(warm_b, 'cpu') / med(cold_b, 'cpu'):6.3f}",
             "  one warm process by phase (CPU / wall seconds):",
             f"    interpreter + imports (store, settings, compute)     {ph['imports_cpu']:6.2f} / {ph['imports_wall']:6.2f}",
             f"    compute: read, indicators, index, writes (Team B)    {ph['compute_cpu']:6.2f} / {ph['compute_wall']:6.2f}"
             f"   [{ph['mode']}]",
             f"    regime update, update_all (Team A)                   {ph.get('regimes_cpu', 0):6.2f} / "
             f"{ph.get('regimes_wall', 0):6.2f}",
             f"    process total                                        {ph['cpu']:6.2f} / {ph['wall']:6.2f}"]
    return lines


def steps(r: dict) -> dict[str, float]:
    data = json.loads(r["out"])
    return {s["step"]: s["seconds"] for s in data["steps"]}


def part_run(runner: Runner, folder: Path, base_cfg: Path, obs: Path, obs_prev: Path, day: dt.date,
             repeat: int) -> list[str]:
    prev = (pd.Timestamp(day) - pd.offsets.BDay(1)).date()
    warm_base = fresh_copy(obs_prev, folder / "runwarm_base.db")
    check(runner.cli(config_for(base_cfg, warm_base, folder), "run", "--date", prev.isoformat()), "prep")
    cold_runs, warm_runs = [], []
    for _ in range(repeat):
        cold = fresh_copy(obs, folder / "runcold.db")
        cold_runs.append(check(runner.cli(config_for(base_cfg, cold, folder), "run", "--date", day.isoformat(),
                                          "--format", "json"), "cold run"))
        warm = fresh_copy(warm_base, folder / "runwarm.db")
        warm_runs.append(check(runner.cli(config_for(base_cfg, warm, folder), "run", "--date", day.isoformat(),
                                          "--format", "json"), "warm run"))
    cs = [steps(r) for r in cold_runs]
    ws = [steps(r) for r in warm_runs]
    lines = [f"run --date {day}, fresh processes, median of {repeat} (wall / CPU seconds):",
             f"  cold (observations 1999..{day} only)   {med(cold_runs, 'wall'):7.2f} / {med(cold_runs, 'cpu'):6.2f}",
             f"  warm (after run --date {prev})        {med(warm_runs, 'wall'):7.2f} / {med(warm_runs, 'cpu'):6.2f}",
             f"  warm / cold                            {med(warm_runs, 'wall') / med(cold_runs, 'wall'):7.3f} / "
             f"{med(warm_runs, 'cpu') / med(cold_runs, 'cpu'):6.3f}   (target <= 0.25)",
             floor_line(runner, "run", med(cold_runs, "cpu"), 0.25, repeat),
             "  steps (wall seconds, median; cold / warm), by owner:"]
    for step in cs[0]:
        c = statistics.median(s.get(step, 0.0) for s in cs)
        w = statistics.median(s.get(step, 0.0) for s in ws)
        lines.append(f"    {step:<8} {c:7.2f} / {w:7.2f}   {OWNERS.get(step, '')}")
    return lines


def table_bytes(db: Path) -> dict[str, int]:
    con = sqlite3.connect(db)
    try:
        return {name: int(size) for name, size in con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name")}
    finally:
        con.close()


def part_growth(runner: Runner, folder: Path, base_cfg: Path, day: dt.date, days: int) -> list[str]:
    bdays = pd.bdate_range(end=pd.Timestamp(day), periods=days + 1)
    first, last = bdays[0].date(), bdays[-1].date()
    start = replay_store(folder / "growth.db", end=first, sources=ALL_SOURCES)
    cfg = config_for(base_cfg, start, folder)
    check(runner.cli(cfg, "run", "--date", first.isoformat()), "prep")
    size0, tables0 = start.stat().st_size, table_bytes(start)
    r = check(runner.cli(cfg, "run", "--start", bdays[1].date().isoformat(), "--end", last.isoformat(),
                         "--format", "json"), "year of runs")
    size1, tables1 = start.stat().st_size, table_bytes(start)
    scale = 252 / days
    grown = sorted(((t, tables1.get(t, 0) - tables0.get(t, 0)) for t in set(tables0) | set(tables1)),
                   key=lambda x: -x[1])
    lines = [f"store growth over {days} business days of run ({bdays[1].date()}..{last}), one process "
             f"({r['wall']:.0f} s wall, {r['cpu']:.0f} s CPU, {r['wall'] / days:.2f} s per day):",
             f"  file {size0 / 1e6:.1f} -> {size1 / 1e6:.1f} MB: {(size1 - size0) / 1e6:.2f} MB, "
             f"{(size1 - size0) / 1e6 * scale:.2f} MB per 252 business days   (target <= 10)",
             "  by table (MB per 252 business days):"]
    for name, delta in grown[:12]:
        if abs(delta) >= 1024:
            lines.append(f"    {name:<40} {delta / 1e6 * scale:7.2f}")
    return lines


def with_55_currencies(src: Path, dst: Path) -> Path:
    """A copy of `src` with the other 52 CBR currencies: the USD fixing dates, USD x a seeded
    random-walk cross rate, written as the cbr fetcher writes them."""
    fresh_copy(src, dst)
    with Store.open(dst) as s:
        usd = s.observations.read_series("cbr.fx.USD")
        lag = s.observations.series_info("cbr.fx.USD")["publication_lag_days"]
        rng = np.random.default_rng(55)
        for code in sorted(CBR_IDS):
            if code in ("USD", "EUR", "CNY"):
                continue
            cross = np.exp(np.cumsum(rng.normal(0, 0.004, len(usd)))) * rng.uniform(0.01, 2)
            sid = f"cbr.fx.{code}"
            s.observations.upsert_series([SeriesInfo(sid, "cbr", f"RUB per 1 {code}", "RUB per 1 unit", "D", lag)])
            s.observations.write_observations(
                [Observation(sid, d.date(), float(round(v, 4))) for d, v in zip(usd.index, usd.to_numpy() * cross)],
                fetched_at=dt.datetime(2026, 11, 28, 12, tzinfo=dt.timezone.utc))
    return dst


def part_memory(runner: Runner, folder: Path, base_cfg: Path, obs: Path, day: dt.date) -> list[str]:
    many = with_55_currencies(obs, folder / "obs55.db")
    lines = [f"peak RSS of a cold compute --asof {day} (fresh process; MB):"]
    for label, src in (("3 currencies (USD, EUR, CNY)", obs), ("all 55 CBR currencies", many)):
        db = fresh_copy(src, folder / "mem.db")
        cfg = config_for(base_cfg, db, folder)
        full = check(runner.cli(cfg, "compute", "--asof", day.isoformat()), "compute")
        db = fresh_copy(src, folder / "mem.db")
        ph = runner.phases(config_for(base_cfg, db, folder), day, "0")
        with Store.open(db) as s:
            rows = sum(x["count"] for x in s.observations.list_series(source="compute"))
        lines.append(f"  {label:<30} compute with regimes {full['peak_mb']:7.0f}   without the regime update "
                     f"{ph['process_peak_mb']:6.0f}   ({full['wall']:.1f} s wall; {rows:,} derived values stored; "
                     f"store {db.stat().st_size / 1e6:.0f} MB)   (target <= 600)")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2026, 8, 20))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--part", action="append", choices=("compute", "run", "growth", "memory"))
    ap.add_argument("--growth-days", type=int, default=252)
    ap.add_argument("--code", type=Path, help="run another checkout's stresswatch (the 'before' numbers)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args(argv)
    parts = args.part or ["compute", "run", "growth", "memory"]
    runner = Runner(args.code.resolve() if args.code else None)
    code = runner.code or REPO
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(code / "stresswatch")], check=True,
                   stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"code: {args.code or REPO}; work folder: {folder}", flush=True)
        prev = (pd.Timestamp(args.date) - pd.offsets.BDay(1)).date()
        obs = folder / "obs.db"
        if not obs.exists():
            replay_store(obs, end=args.date, sources=ALL_SOURCES)
        obs_prev = folder / "obs_prev.db"
        if "run" in parts and not obs_prev.exists():
            replay_store(obs_prev, end=prev, sources=ALL_SOURCES)
        with replay_servers(folder / "replay.toml", obs) as base_cfg:
            for part in parts:
                if part == "compute":
                    lines = part_compute(runner, folder, base_cfg, obs, args.date, args.repeat)
                elif part == "run":
                    lines = part_run(runner, folder, base_cfg, obs, obs_prev, args.date, args.repeat)
                elif part == "growth":
                    lines = part_growth(runner, folder, base_cfg, args.date, args.growth_days)
                else:
                    lines = part_memory(runner, folder, base_cfg, obs, args.date)
                print("\n".join(lines) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
