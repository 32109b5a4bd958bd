"""CLI subcommands, one module per concern; each exposes `register(subparsers)` and its handlers
`cmd_*(args, app)`: argument checks and printing only (what they do lives in `stresswatch.app` and
below). This package holds the argparse helpers they share."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Sequence


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
