"""`stresswatch demo`: build the offline demo store from the sample shipped with stresswatch and
render its report of 2023-08-16 (`stresswatch.demo.build`), printing where everything is."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stresswatch.commands import command, iso_date

if TYPE_CHECKING:  # the session (the store, pandas) is imported only when a command runs
    from stresswatch.app.session import App


def cmd_demo(args, app: App) -> int:
    from stresswatch.demo import build  # pandas, statsmodels, matplotlib: only when the demo runs

    def say(text: str) -> None:
        print(f"stresswatch: demo: {text}", file=sys.stderr)

    result = build.build(Path(args.path) if args.path else None, day=args.date, user_store=app.settings.store_path,
                         clock=app.clock, say=say)
    out = app.out
    print(f"demo report for {result.date}: {result.report}", file=out)
    if result.headline:
        print(f"headline: {result.headline}", file=out)
    print(f"demo store: {result.store} ({result.observations:,} Bank of Russia observations, "
          f"{result.first}..{result.last}, shipped with stresswatch; provenance: stresswatch/demo/data/PROVENANCE.md)",
          file=out)
    print(f"explore it: stresswatch --config {result.config} report --date 2022-03-01", file=out)
    print(f"took {result.seconds['total']:.1f} s (load {result.seconds['load']:.1f} s, compute "
          f"{result.seconds['compute']:.1f} s, report {result.seconds['report']:.1f} s)", file=out)
    return 0


def register(sub) -> None:
    p = command(sub, "demo", "build a demo store from the sample shipped with stresswatch and render a report, "
                             "offline",
                "stresswatch demo\n  stresswatch demo --path ./sw-demo --date 2022-03-01", cmd_demo)
    p.add_argument("--path", metavar="DIR", help="folder of the demo store (default: demo/ in the user data "
                                                 "folder); never your own store")
    p.add_argument("--date", type=iso_date, default=None,
                   help="report date within the sample, 2013-09-17..2024-05-31 (default 2023-08-16)")
