"""CLI subcommands, one module per concern; each exposes `register(subparsers)` and its handlers
`cmd_*(args, app)`: argument checks and printing only (what they do lives in `stresswatch.app` and
below). This package holds the argparse helpers they share.

Command modules import their heavy dependencies (pandas, statsmodels, matplotlib, and whatever
imports them: the store, compute, regimes, reports ...) inside the handlers, so building the parser
for `--help` and `--version` stays light (tests/test_cli.py checks the import graph).

Dates: every date option (`iso_date`) must not lie after today in the `[daemon] timezone`; the CLI
checks them all at once (`reject_future_dates`) except those a command names with
`allow_future_dates` (a silence may end in the future)."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Callable, Sequence

from stresswatch.errors import UsageError

#: the argparse default listing the date options of a command that may lie after today
FUTURE_OK = "future_dates_ok"


def iso_date(text: str) -> dt.date:
    """argparse type for YYYY-MM-DD."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def add_format(parser: argparse.ArgumentParser, choices: Sequence[str] = ("table", "csv", "json"),
               default: str = "table") -> None:
    parser.add_argument("--format", choices=choices, default=default, help=f"output format (default {default})")


def command(sub, name: str, help: str, example: str, handler, **kwargs) -> argparse.ArgumentParser:
    """Add a subcommand with an example in its --help."""
    parser = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}",
                            formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    parser.set_defaults(handler=handler)
    return parser


def allow_future_dates(parser: argparse.ArgumentParser, *dests: str) -> None:
    """Let these date options of `parser` lie after today (the CLI refuses that otherwise)."""
    parser.set_defaults(**{FUTURE_OK: frozenset(dests)})


def reject_future_dates(args: argparse.Namespace, today: Callable[[], dt.date], zone: str) -> None:
    """UsageError naming the first date option after `today()` (in `zone`), unless the command
    allows it (`allow_future_dates`). `today` is called only when a date was given."""
    allowed = getattr(args, FUTURE_OK, frozenset())
    given = {dest: value for dest, value in vars(args).items()
             if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and dest not in allowed}
    if not given:
        return
    now = today()
    for dest, value in given.items():
        if value > now:
            raise UsageError(f"--{dest.replace('_', '-')} {value} is in the future (today is {now} in {zone}); "
                             "only data known by today exist")
