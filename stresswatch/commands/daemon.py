"""Commands `run` (one daily cycle for a date) and `daemon` (the scheduler)."""

from __future__ import annotations

import sys

from stresswatch import output
from stresswatch.app import daily
from stresswatch.app.session import App
from stresswatch.bizdays import business_days
from stresswatch.commands import add_format, command, iso_date
from stresswatch.commands.data import add_ignore_cooldown, ignore_cooldown, stop_on_signals
from stresswatch.daemon import Daemon
from stresswatch.errors import UsageError

COLUMNS = ["date", "step", "status", "seconds", "rows", "error"]


def cmd_run(args, app: App) -> int:
    if args.date and (args.start or args.end):
        raise UsageError("use either --date or --start/--end")
    if bool(args.start) != bool(args.end):
        raise UsageError("--start and --end go together")
    if args.start:
        if args.end < args.start:
            raise UsageError(f"--end {args.end} is before --start {args.start}")
        days = business_days(args.start, args.end)
    else:
        days = [args.date or app.today()]
    ignore_cooldown(args, app)
    store = app.store()
    with app.lock("run"), stop_on_signals() as stop:
        results = daily.run_range(store, app.settings, days, app.clock, stop=stop)
    if args.format == "json":
        payload = [r.as_dict() for r in results]
        app.out.write(output.to_json(payload[0] if len(payload) == 1 and not args.start else payload) + "\n")
    else:
        rows = [{"date": r.day, "step": s.name, "status": s.status, "seconds": round(s.seconds, 2), "rows": s.rows,
                 "error": s.error} for r in results for s in r.steps]
        output.emit(rows, COLUMNS, args.format, app.out)
    bad = [r for r in results if not r.ok]
    for r in bad:
        for step in r.steps:  # each failing source on its own short line: host and cause (issue 13)
            for line in step.detail.get("failures", []) if step.name == "fetch" else []:
                print(f"stresswatch: {r.day} fetch: {line}", file=sys.stderr)
        print(f"stresswatch: {r.summary()}", file=sys.stderr)
    if len(results) < len(days):
        print("stresswatch: interrupted; rerun the same command to resume", file=sys.stderr)
    return 1 if bad or len(results) < len(days) else 0


def cmd_daemon(args, app: App) -> int:
    return Daemon(app.store(), app.settings, app.clock).serve()


def register(sub) -> None:
    p = command(sub, "run", "Run the daily cycle for a date: fetch, compute, events, report, alerts, mail.",
                "stresswatch run --date 2022-03-01 --format json", cmd_run)
    p.add_argument("--date", type=iso_date, help="run date (default: today in [daemon] timezone)")
    p.add_argument("--start", type=iso_date, help="first date of a range (business days)")
    p.add_argument("--end", type=iso_date, help="last date of a range")
    add_ignore_cooldown(p)
    add_format(p)
    p.epilog += ("\n\nSteps that already succeeded for the date are not repeated, and no mail is sent twice.\n"
                 "Exit 0 when every step succeeded, 1 when one failed (the summary names it).")
    command(sub, "daemon", "Run the scheduler: the daily cycle on [daemon] schedule, catch-up at start, "
                           "SIGTERM stops cleanly.",
            "stresswatch --config /etc/stresswatch.toml daemon", cmd_daemon)
