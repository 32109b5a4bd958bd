"""`stresswatch report`: render the daily report (HTML, Markdown, JSON, charts) for a date or a range."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from stresswatch.commands import command, iso_date
from stresswatch.commands.compute import compute_first
from stresswatch.errors import UsageError

if TYPE_CHECKING:  # the session (the store, pandas) is imported only when a command runs
    from stresswatch.app.session import App


def cmd_report(args, app: App) -> int:
    from stresswatch.bizdays import business_days
    from stresswatch.reports import render  # matplotlib: loaded only when a report is drawn

    formats = render.parse_formats(args.format, app.settings["report"]["formats"])
    if args.date and (args.start or args.end):
        raise UsageError("use either --date or --start/--end, not both")
    if bool(args.start) != bool(args.end):
        raise UsageError("--start and --end go together")
    if args.start and args.end < args.start:
        raise UsageError(f"--end {args.end} is before --start {args.start}")
    today = app.today()
    last = args.end or args.date or today
    if last > today:
        raise UsageError(f"{last} is in the future (today is {today}); a report uses data known on its date")
    store = app.store()
    if not args.no_compute:
        compute_first(app, business_days(args.start, args.end) if args.start else [args.date or today])
    with app.lock():
        if args.start:
            result = render.render_range(store, app.settings, args.start, args.end, out=args.out, formats=formats,
                                         clock=app.now, progress=None if not args.no_progress else False,
                                         workers=args.workers)
        else:
            result = render.render_day(store, app.settings, args.date or today, out=args.out, formats=formats,
                                       clock=app.now)
    ctx = result.context
    if len(result.folders) == 1:
        print(f"report for {result.dates[0]}: {result.folders[0]}", file=app.out)
    else:
        print(f"{len(result.folders)} reports {result.dates[0] if result.dates else ''}.."
              f"{result.dates[-1] if result.dates else ''} in {result.index.parent if result.index else args.out}",
              file=app.out)
    print(f"index: {result.index}", file=app.out)
    missing = [e["date"] for e in result.entries if not e["available"]]
    if missing:
        first = missing[0]
        print(f"stresswatch: warning: no regime model run as of {first}"
              + (f" (and {len(missing) - 1} more dates)" if len(missing) > 1 else "")
              + f"; run `stresswatch compute --asof {first}` and render again", file=sys.stderr)
    if ctx:
        for w in ctx.get("warnings", []):
            if w["level"] in ("warning", "error") and w["topic"] != "regimes":
                print(f"stresswatch: {w['level']}: {w['text']}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = command(sub, "report", "render the daily report (HTML, Markdown, JSON and charts) for a date or range",
                "stresswatch report --date 2023-08-16 --out ./reports\n"
                "  stresswatch report --start 2023-08-01 --end 2023-08-31 --format html,json",
                cmd_report)
    p.add_argument("--date", type=iso_date, help="report date D (default: today); uses only data known on D")
    p.add_argument("--start", type=iso_date, help="first date of a range (business days)")
    p.add_argument("--end", type=iso_date, help="last date of a range")
    p.add_argument("--out", metavar="DIR", help="reports folder (default: [report] out, else reports/ in the "
                                                "user's data folder); writes DIR/<D>/report.* and DIR/index.html")
    p.add_argument("--format", metavar="LIST", default=None,
                   help="comma-separated formats: html,md,json (default: [report] formats)")
    p.add_argument("--workers", type=int, default=None,
                   help="chart worker processes for a range (default: CPU count, at most 4; 0 = none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar for a range")
    p.add_argument("--no-compute", action="store_true",
                   help="do not run `compute --asof D` first for dates the stored analysis does not cover")
