"""Report rendering cost, measured against `compute` in the same run.

1. `compute` as of D (indicators, composite index, regime fits) — the baseline.
2. One day's report (context + 7 charts + HTML/MD/JSON), cold and split into context vs charts.
3. A 30-business-day range: 30 single renders (each with its own ContextBuilder) vs one
   `render_range` (cached vintages, one statement catalogue, charts drawn in worker processes
   while the next context is built).

Data: the real Bank of Russia / FRED / MOEX history from ../shared/data/real when present (else the
synthetic test history). Not part of the test suite.

    /work/venv/bin/python benchmarks/bench_report.py [--date 2023-08-16] [--days 30] [--workers N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pandas as pd  # noqa: E402

from stresswatch import settings as settings_mod  # noqa: E402
from stresswatch.reports import render  # noqa: E402
from stresswatch.reports.charts import render_chart  # noqa: E402
from stresswatch.reports.context import ContextBuilder  # noqa: E402
from stresswatch.store import Store  # noqa: E402


def timed(label: str, func):
    t0 = time.perf_counter()
    value = func()
    seconds = time.perf_counter() - t0
    print(f"  {label:<48} {seconds:8.2f} s")
    return value, seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--date", type=dt.date.fromisoformat, default=dt.date(2023, 8, 16))
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    D = args.date
    tmp = Path(tempfile.mkdtemp(prefix="bench_report_"))
    settings = settings_mod.load(environ={}, overrides={"store.path": str(tmp / "sw.db"),
                                                        "report.out": str(tmp / "reports")})
    store = Store.open(settings.store_path)
    from tests.fakes.indicators_real import load_real, real_dir

    if real_dir() is not None:
        print("data: real history from ../shared/data/real (2008 .. D)")
        load_real(store, start="2008-01-01", end=D.isoformat())
    else:
        from tests.fakes import report_data

        print("data: synthetic test history (../shared absent)")
        report_data.fill_store(store, end=D)
    from stresswatch.compute import compute

    days = [d.date() for d in pd.bdate_range(end=D, periods=args.days)]
    print(f"\nbaseline: compute as of {days[0]} and {D}")
    timed(f"compute as of {days[0]}", lambda: compute(store, settings, days[0]))
    _, t_compute = timed(f"compute as of {D}", lambda: compute(store, settings, D))

    print(f"\none report for {D}")
    builder = ContextBuilder(store, settings, write_snapshots=False)
    data, t_ctx = timed("context (store reads, regimes, events align)", lambda: builder.build(D))
    folder = tmp / "parts" / D.isoformat()
    _, t_charts = timed(f"{len(data.charts)} charts (matplotlib Agg)", lambda: [render_chart(s, folder) for s in data.charts])
    _, t_one = timed("render_day (everything, files + index)",
                     lambda: render.render_day(store, settings, D, out=tmp / "one"))
    print(f"  ratio render_day / compute = {t_one / t_compute:.2f}")

    print(f"\n{len(days)} business days {days[0]} .. {days[-1]}")
    _, t_singles = timed(f"{len(days)} single render_day calls",
                         lambda: [render.render_day(store, settings, d, out=tmp / "singles") for d in days])
    _, t_range = timed("render_range (cached, parallel charts)",
                       lambda: render.render_range(store, settings, days[0], days[-1], out=tmp / "range",
                                                   progress=False, workers=args.workers))
    print(f"  ratio range / singles = {t_range / t_singles:.2f}  ({t_singles / t_range:.1f}x faster;"
          f" {t_range / len(days):.2f} s per day vs {t_singles / len(days):.2f} s)")
    print(f"  ratio range per day / compute = {t_range / len(days) / t_compute:.2f}")
    print(f"\nfiles in {tmp}")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
