"""Commands `run` (one daily cycle for a date) and `daemon` (the scheduler). The cycle and the
scheduler are imported by the handlers (see `stresswatch.commands`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from stresswatch import output
from stresswatch.commands import add_format, command, iso_date
from stresswatch.commands.data import add_ignore_cooldown, ignore_cooldown
from stresswatch.errors import UsageError

if TYPE_CHECKING:
    from stresswatch.app.session import App

COLUMNS = ["date", "step", "status", "seconds", "rows", "note", "error"]


def cmd_run(args, app: App) -> int:
    from stresswatch.app import daily
    from stresswatch.bizdays import business_days
    from stresswatch.commands.data import stop_on_signals

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
        results = daily.run_range(store, app.settings, days, app.clock, stop=stop, force=args.force)
    if args.format == "json":
        payload = [r.as_dict() for r in results]
        app.out.write(output.to_json(payload[0] if len(payload) == 1 and not args.start else payload) + "\n")
    else:
        rows = [{"date": r.day, "step": s.name, "status": s.status, "seconds": round(s.seconds, 2),
                 "rows": None if s.status == "off" else s.rows, "note": s.note, "error": s.error}
                for r in results for s in r.steps]
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
    from stresswatch.daemon import Daemon

    return Daemon(app.store(), app.settings, app.clock).serve()


def register(sub) -> None:
    p = command(sub, "run", "Run the daily cycle for a date: fetch, compute, events, report, alerts, mail.",
                "stresswatch run --date 2022-03-01 --format json", cmd_run)
    p.add_argument("--date", type=iso_date, help="run date (default: today in [daemon] timezone)")
    p.add_argument("--start", type=iso_date, help="first date of a range (business days)")
    p.add_argument("--end", type=iso_date, help="last date of a range")
    p.add_argument("--force", action="store_true",
                   help="run every step again, even those that succeeded for the date; alerts are evaluated "
                        "again from their state before the date (no mail about what was already mailed)")
    add_ignore_cooldown(p)
    add_format(p)
    p.epilog += ("\n  stresswatch run --date 2023-08-16 --force\n\n"
                 "Steps that already succeeded for the date are not repeated unless new data arrived for them\n"
                 "(or --force), and no mail is sent twice. Exit 0 when every step succeeded, 1 when one failed\n"
                 "(the summary names it), 2 for a usage error (e.g. a date after today).")
    command(sub, "daemon", "Run the scheduler: the daily cycle on [daemon] schedule, catch-up at start, "
                           "SIGTERM stops cleanly.",
            "stresswatch --config /etc/stresswatch.toml daemon", cmd_daemon)
