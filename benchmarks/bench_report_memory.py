"""Memory of a range report: peak RSS for a year of reports, against a short range measured in the
same run (issue 14: "a range report grows by about 0.5 MB per report"; wanted: flat).

Data: the real Bank of Russia sample shipped for the demo (USD, EUR, CNY, key rate 2013-2024;
always available). The analysis is computed as of the first business day of every month of the
year (so each report has a model run at most a month old, and the store holds what a daily cycle
would), then each measurement runs in a fresh process:

1. baseline: `render_range` over the first `--short` business days of the year;
2. the year: `render_range` over every business day of the year (about 260 reports).

For each: peak RSS of the rendering process (ru_maxrss), peak RSS of the process and its chart
workers together (sampled from /proc every 0.2 s), and the growth in MB per report (least-squares
slope of the process's RSS after each report, over the last three quarters of the range). Flat
means: the year's peak is close to the baseline's (ratio near 1) and the slope near 0. Every step
runs in a fresh process started by this small one (Linux carries the peak RSS across fork and
exec, so a child of a big parent would report the parent's peak).

`--compute-days N` also measures the command-line path `stresswatch report --start --end`, which
first computes the analysis for every day it does not cover (`app.analysis.ensure_computed`):
the RSS slope per computed day over N days (slow: a compute per day).

    python benchmarks/bench_report_memory.py [--end 2023-08-16] [--short 10] [--workers 2] [--compute-days 0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def rss_mb(pid: int | str = "self") -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    return int(text.split("VmRSS:")[1].split()[0]) / 1024 if "VmRSS:" in text else 0.0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def slope(values: list[float]) -> float:
    """Least-squares slope per step over the last three quarters (after the warm-up)."""
    ys = values[len(values) // 4:]
    if len(ys) < 2:
        return 0.0
    n = len(ys)
    mx, my = (n - 1) / 2, sum(ys) / n
    return sum((i - mx) * (y - my) for i, y in enumerate(ys)) / sum((i - mx) ** 2 for i in range(n))


def prepare(folder: str, start: str, end: str) -> dict:
    """(in a fresh process) a store from the shipped sample with the analysis computed on the
    first business day of every month of start..end; its settings file and the compute times."""
    import pandas as pd

    from stresswatch import settings as settings_mod
    from stresswatch.compute import compute
    from stresswatch.demo.build import config_text
    from stresswatch.demo.sample import read_sample
    from stresswatch.store import Store

    config = Path(folder) / "stresswatch.toml"
    config.write_text(config_text(Path(folder)), encoding="utf-8")
    settings = settings_mod.load(config, environ={})
    sample = read_sample()
    with Store.open(settings.store_path) as store:
        store.observations.upsert_series(sample.series)
        store.observations.write_observations(sample.observations, fetched_at=dt.datetime.now(dt.timezone.utc))
        firsts: dict[tuple[int, int], dt.date] = {}
        for d in pd.bdate_range(start, end):
            firsts.setdefault((d.year, d.month), d.date())
        times = {}
        for day in sorted(firsts.values()):
            t0 = time.perf_counter()
            compute(store, settings, day)
            times[day.isoformat()] = time.perf_counter() - t0
    return {"config": str(config), "computes": times,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_render(config: str, start: str, end: str, out: str, workers: int) -> dict:
    """(in a fresh process) render_range start..end; RSS after each report and peaks."""
    from stresswatch import settings as settings_mod
    from stresswatch.reports import context as context_mod
    from stresswatch.reports import render
    from stresswatch.store import Store

    settings = settings_mod.load(config, environ={})
    after: list[float] = []
    peak_tree = [0.0]
    done = threading.Event()

    def sample() -> None:
        me = os.getpid()
        while not done.is_set():
            peak_tree[0] = max(peak_tree[0], rss_mb(me) + sum(rss_mb(p) for p in descendants(me)))
            time.sleep(0.2)

    build = context_mod.ContextBuilder.build

    def build_and_sample(self, day):  # type: ignore[no-untyped-def]
        data = build(self, day)
        after.append(rss_mb())
        return data

    context_mod.ContextBuilder.build = build_and_sample  # type: ignore[method-assign]
    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    with Store.open(settings.store_path) as store:
        result = render.render_range(store, settings, dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                                     out=out, progress=False, workers=workers, update_archive=False)
    seconds = time.perf_counter() - t0
    done.set()
    thread.join()
    return {"reports": len(result.dates), "seconds": seconds,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "peak_tree_mb": peak_tree[0], "first_mb": after[0] if after else 0.0,
            "last_mb": after[-1] if after else 0.0, "slope_mb": slope(after)}


def measure_compute(config: str, days: list[str]) -> dict:
    """(in a fresh process) the CLI path's compute-first phase over `days`: RSS after each."""
    from stresswatch import settings as settings_mod
    from stresswatch.compute import compute
    from stresswatch.store import Store

    settings = settings_mod.load(config, environ={})
    after: list[float] = []
    t0 = time.perf_counter()
    with Store.open(settings.store_path) as store:
        for day in days:
            compute(store, settings, dt.date.fromisoformat(day))
            after.append(rss_mb())
    return {"days": len(days), "seconds": time.perf_counter() - t0,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "slope_mb": slope(after)}


def in_child(func: str, *args: object) -> dict:
    code = (f"import json, sys; sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            f"import bench_report_memory as b\n"
            f"if __name__ == '__main__':\n"
            f"    print('RESULT ' + json.dumps(b.{func}(*{list(args)!r})))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2023, 8, 16))
    ap.add_argument("--short", type=int, default=10, help="business days of the baseline range")
    ap.add_argument("--workers", type=int, default=2, help="chart worker processes (as `report --workers`)")
    ap.add_argument("--compute-days", type=int, default=0, help="also measure N days of the CLI's compute-first")
    args = ap.parse_args()
    import pandas as pd

    end = args.end
    start = (pd.Timestamp(end) - pd.DateOffset(years=1) + pd.offsets.BDay(1)).date()
    days = [d.date().isoformat() for d in pd.bdate_range(start, end)]
    tmp = Path(tempfile.mkdtemp(prefix="bench_report_memory_"))
    print(f"store: the shipped Bank of Russia sample, analysis computed monthly {start}..{end} ({tmp})")
    # every step runs in a fresh process started from this small one: Linux carries a process's
    # peak RSS across fork and exec, so a child of a big parent would report the parent's peak
    prepared = in_child("prepare", str(tmp), start.isoformat(), end.isoformat())
    config = Path(prepared["config"])
    print(f"  {len(prepared['computes'])} monthly computes in {sum(prepared['computes'].values()):.0f} s "
          f"(peak RSS {prepared['peak_mb']:.0f} MB)")
    print(f"\nbaseline: {args.short} reports {days[0]}..{days[args.short - 1]}, workers={args.workers}")
    short = in_child("measure_render", str(config), days[0], days[args.short - 1], str(tmp / "short"), args.workers)
    print(f"year: {len(days)} reports {days[0]}..{days[-1]}, workers={args.workers}")
    year = in_child("measure_render", str(config), days[0], days[-1], str(tmp / "year"), args.workers)
    print()
    print(f"{'':<28}{'reports':>8}{'seconds':>9}{'peak RSS':>10}{'+workers':>10}{'first':>8}{'last':>8}{'MB/report':>11}")
    for label, m in (("baseline (short range)", short), ("a year of reports", year)):
        print(f"{label:<28}{m['reports']:>8}{m['seconds']:>9.0f}{m['peak_mb']:>9.0f}M{m['peak_tree_mb']:>9.0f}M"
              f"{m['first_mb']:>7.0f}M{m['last_mb']:>7.0f}M{m['slope_mb']:>11.3f}")
    print(f"\npeak RSS ratio year / baseline: {year['peak_mb'] / short['peak_mb']:.2f} "
          f"(with chart workers: {year['peak_tree_mb'] / max(short['peak_tree_mb'], 1):.2f}); "
          f"growth {year['slope_mb']:.3f} MB per report")
    if args.compute_days:
        computed = {d for d in days if d[8:] <= "03"}  # roughly the monthly computes: skip them
        comp_days = [d for d in days if d not in computed][: args.compute_days]
        print(f"\nthe CLI's compute-first phase: compute as of each of {len(comp_days)} days")
        comp = in_child("measure_compute", str(config), comp_days)
        print(f"  {comp['days']} computes in {comp['seconds']:.0f} s, peak RSS {comp['peak_mb']:.0f} MB, "
              f"growth {comp['slope_mb']:.3f} MB per computed day")
    return 0


if __name__ == "__main__":
    sys.exit(main())
