"""Data commands: fetch, backfill, series, status, reparse, config."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from typing import TYPE_CHECKING, Iterator

from stresswatch import output
from stresswatch.commands import add_format, command, iso_date
from stresswatch.errors import UsageError
from stresswatch.redaction import redact

if TYPE_CHECKING:  # pipeline, status, the store: imported by the handlers (the parser stays light)
    from stresswatch import pipeline
    from stresswatch.app.session import App

#: `pipeline.REPROCESS`, spelled out so that building the parser does not import the pipeline
REPROCESS = ("missing", "failed", "all")


def status_extras() -> tuple:
    """The extra blocks `status` shows after sources and series."""
    from stresswatch import daemon, trade_check

    return (trade_check.status_extra, daemon.status_extra)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """SIGTERM / Ctrl-C set the event: a transfer in flight is abandoned (its partition recorded
    `interrupted`), then the command stops; a second Ctrl-C aborts at once."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):  # noqa: ARG001
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        print("stresswatch: stopping: the transfer in flight is abandoned (Ctrl-C again to abort)", file=sys.stderr)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def _print_report(app: App, report: pipeline.FetchReport, fmt: str) -> int:
    planned = [o for o in report.outcomes if o.status == "planned"]
    if planned:
        rows = [{"source": o.source, "partition": o.partition, "request": r} for o in planned for r in o.planned]
        output.emit(rows, ["source", "partition", "request"], fmt, app.out)
        return 0
    summary = report.summary()
    output.emit(summary, ["source", "success", "skipped", "failed", "abandoned", "rows", "quarantined", "requests",
                          "error"], fmt, app.out)
    for o in report.outcomes:
        for w in o.warnings:
            print(f"stresswatch: warning: {o.source} {o.partition}: {redact(w)}", file=sys.stderr)
    for line in report.failure_lines():
        print(f"stresswatch: {line}", file=sys.stderr)
    if report.interrupted:
        print("stresswatch: interrupted; rerun the same command to resume", file=sys.stderr)
    return 0 if report.ok else 1


def ignore_cooldown(args, app: App) -> None:
    """`--ignore-cooldown`: ask hosts found unreachable recently anyway (the flag sets
    `[http] unreachable_cooldown = 0` for this call, the last layer of the settings)."""
    if getattr(args, "ignore_cooldown", False):
        app.settings["http"]["unreachable_cooldown"] = 0.0


def add_ignore_cooldown(parser) -> None:
    parser.add_argument("--ignore-cooldown", action="store_true",
                        help="ask sources whose host was unreachable within [http] unreachable_cooldown anyway")


def cmd_fetch(args, app: App) -> int:
    from stresswatch import pipeline

    ignore_cooldown(args, app)
    day = args.date or app.today()
    store = app.store()
    if args.dry_run:
        return _print_report(app, pipeline.fetch(store, app.settings, day, args.source, dry_run=True,
                                                 clock=app.clock), args.format)
    with app.lock(), stop_on_signals() as stop:
        report = pipeline.fetch(store, app.settings, day, args.source, stop=stop, progress=None, clock=app.clock)
    return _print_report(app, report, args.format)


def cmd_backfill(args, app: App) -> int:
    from stresswatch import pipeline

    if args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    store = app.store()
    if args.dry_run:
        report = pipeline.backfill(store, app.settings, args.start, args.end, args.source, args.reprocess,
                                   dry_run=True, clock=app.clock)
        return _print_report(app, report, args.format)
    with app.lock(), stop_on_signals() as stop:
        report = pipeline.backfill(store, app.settings, args.start, args.end, args.source, args.reprocess,
                                   stop=stop, progress=None, clock=app.clock)
    return _print_report(app, report, args.format)


def cmd_series_list(args, app: App) -> int:
    from stresswatch import status

    rows = status.series_status(app.store(), app.settings, app.today())
    output.emit(rows, ["series", "source", "unit", "frequency", "first", "last", "count"], args.format, app.out)
    return 0


def cmd_series_show(args, app: App) -> int:
    if args.start and args.end and args.end < args.start:
        raise UsageError(f"--end {args.end} is before --start {args.start}")
    store = app.store()
    if store.observations.series_info(args.id) is None:
        raise UsageError(f"no series {args.id!r}; see `stresswatch series list`")
    values = store.observations.read_series(args.id, start=args.start, end=args.end, asof=args.asof)
    rows = [{"date": d.date().isoformat(), "value": float(v)} for d, v in values.items()]
    output.emit(rows, ["date", "value"], args.format, app.out)
    return 0


def cmd_status(args, app: App) -> int:
    from stresswatch import status

    store = app.store()
    today = args.date or app.today()
    data = {
        "store": str(app.settings.store_path),
        "asof": today.isoformat(),
        "sources": status.source_status(store, app.settings, today),
        "series": status.series_status(store, app.settings, today),
        "quarantine": status.quarantine_status(store),
    }
    data.update(status.extras(store, app.settings, status_extras()))
    if args.format == "json":
        app.out.write(output.to_json(output.clean(data)) + "\n")
        return 0
    app.out.write(f"store: {data['store']}\n\nsources\n")
    output.emit(data["sources"], ["source", "enabled", "last_success", "stale", "last_error"], "table", app.out)
    app.out.write("\nseries\n")
    output.emit(data["series"], ["series", "first", "last", "count", "last_fetched", "stale"], "table", app.out)
    quarantined = data["quarantine"]
    app.out.write(f"\nquarantine ({quarantined['count']} value(s) refused by the plausibility rules)\n")
    if quarantined["latest"]:
        output.emit(quarantined["latest"], ["series", "date", "value", "reason", "fetched_at"], "table", app.out)
    for key, value in data.items():
        if key not in ("store", "asof", "sources", "series", "quarantine"):
            output.emit_block(key, value, app.out)
    return 0


def cmd_reparse(args, app: App) -> int:
    from stresswatch import pipeline

    with app.lock():
        reports = pipeline.reparse(app.store(), app.settings, args.source)
    rows = [{"source": r.source, "payloads": r.payloads, "parsed": r.parsed, "unparseable": r.unparseable,
             "truncated": r.truncated, "quarantined": r.quarantined, "rows": r.rows} for r in reports]
    output.emit(rows, ["source", "payloads", "parsed", "unparseable", "truncated", "quarantined", "rows"],
                args.format, app.out)
    for r in reports:  # archived answers that do not parse (challenge pages, broken bodies): named, not fatal
        for error in r.errors[:5]:
            print(f"stresswatch: warning: {error[:300]}", file=sys.stderr)
        if len(r.errors) > 5:
            print(f"stresswatch: warning: {r.source}: {len(r.errors) - 5} more unparseable payload(s)", file=sys.stderr)
    return 0


def cmd_config_show(args, app: App) -> int:
    from stresswatch.settings import defaults, render_defaults_toml

    shown = defaults() if args.defaults else app.settings
    if args.format == "json":
        app.out.write(output.to_json(output.clean(shown.redacted())) + "\n")
        return 0
    if not args.defaults:
        app.out.write(f"# loaded from: {app.settings.origin}\n")
    app.out.write(render_defaults_toml(None if args.defaults else shown))
    return 0


def register(sub) -> None:
    p = command(sub, "fetch", "Incremental pull up to a date: each source asks only for what the ledger lacks.",
                "stresswatch fetch --date 2024-05-31 --source cbr", cmd_fetch)
    p.add_argument("--date", type=iso_date, help="fetch up to this date (default today)")
    p.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    p.add_argument("--dry-run", action="store_true", help="print the requests it would make")
    add_ignore_cooldown(p)
    add_format(p)

    p = command(sub, "backfill", "Fetch history over a date range, partition by partition; resumable.",
                "stresswatch backfill --start 2013-01-01 --end 2024-05-31 --source cbr", cmd_backfill)
    p.add_argument("--start", type=iso_date, required=True, help="first date (YYYY-MM-DD)")
    p.add_argument("--end", type=iso_date, required=True, help="last date, inclusive")
    p.add_argument("--source", action="append", metavar="ID", help="only this source (repeatable)")
    p.add_argument("--reprocess", choices=REPROCESS, default="missing",
                   help="missing: partitions not yet complete (default); failed: only those whose last "
                        "attempt failed; all: everything")
    p.add_argument("--dry-run", action="store_true", help="print the partitions and requests it would run")
    add_format(p)

    p = command(sub, "series", "List stored series or show one.", "stresswatch series show cbr.fx.USD --asof 2023-08-15",
                None)
    ssub = p.add_subparsers(dest="series_command", metavar="SUBCOMMAND", required=True)
    q = command(ssub, "list", "Every stored series with its range.", "stresswatch series list --format json",
                cmd_series_list)
    add_format(q)
    q = command(ssub, "show", "Values of one series (CSV columns date,value).",
                "stresswatch series show cbr.keyrate --start 2023-08-01 --end 2023-08-31 --format csv",
                cmd_series_show)
    q.add_argument("id", help="series id, e.g. cbr.fx.USD")
    q.add_argument("--start", type=iso_date)
    q.add_argument("--end", type=iso_date)
    q.add_argument("--asof", type=iso_date, help="as known on this date (vintages)")
    add_format(q)

    p = command(sub, "status", "Freshness of every source and series.", "stresswatch status --format json",
                cmd_status)
    p.add_argument("--date", type=iso_date, help="judge staleness as of this date (default today)")
    add_format(p, ("table", "json"))

    p = command(sub, "reparse", "Rebuild observations from the archived responses, offline.",
                "stresswatch reparse --source cbr", cmd_reparse)
    p.add_argument("--source", metavar="ID", help="only this source")
    add_format(p)

    p = command(sub, "config", "Show settings.", "stresswatch config show", None)
    csub = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    q = command(csub, "show", "The settings in force (or their defaults), as TOML (default) or JSON.",
                "stresswatch config show --defaults\n  stresswatch config show --format json", cmd_config_show)
    q.add_argument("--defaults", action="store_true", help="every setting's default instead of the values in force")
    add_format(q, ("toml", "json"), default="toml")

