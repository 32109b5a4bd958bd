"""The command line: parse arguments, load settings, call the concern's handler with an
`app.session.App`, and turn StresswatchError into a message and an exit code (0 ok, 1 part
failed, 2 usage or config error). No orchestration lives here.

Subcommands live in `stresswatch/commands/<concern>.py`, each exposing `register(subparsers)`;
the argparse helpers they share (`command`, `add_format`, `iso_date`) live in
`stresswatch.commands`. Building the parser imports nothing heavy (the session, the store and
pandas are imported once a command runs), so `--version` and `--help` answer at once.

Logging: `--log-level` (any case), `-q/--quiet` (warnings and errors only) or `-v/--verbose`
(debug), before or after the command name.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence, TextIO

from stresswatch import __version__
from stresswatch.commands import reject_future_dates
from stresswatch.errors import StresswatchError
from stresswatch.redaction import RedactingFilter, redact
from stresswatch.settings import load

COMMAND_MODULES = ("data", "sources", "compute", "regimes", "events", "report", "alerts", "daemon")

log = logging.getLogger("stresswatch")

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def add_logging_options(parser: argparse.ArgumentParser, default: object = None) -> None:
    """--log-level LEVEL (any case) | -q/--quiet | -v/--verbose, all setting `log_level`."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default=default,
                       help="log level (debug, info, warning, error; default [log] level)")
    group.add_argument("-q", "--quiet", dest="log_level", action="store_const", const="WARNING", default=default,
                       help="only warnings and errors on stderr")
    group.add_argument("-v", "--verbose", dest="log_level", action="store_const", const="DEBUG", default=default,
                       help="debug messages too")


def _subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command parser below `parser` (commands, subcommands, ...)."""
    out = []
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases share a parser
                out.append(sub)
                out += _subcommands(sub)
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stresswatch",
        description="Economic-stress monitor: ruble, policy rates, China–Russia trade, stress regimes "
                    "and diplomatic statements.",
        epilog="example:\n  stresswatch backfill --start 2013-01-01 --end 2024-05-31 --source cbr\n"
               "  stresswatch series show cbr.fx.USD --start 2023-08-01 --format csv",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", metavar="PATH", help="settings file (else $STRESSWATCH_CONFIG, else the "
                                                         "user config folder's stresswatch.toml)")
    parser.add_argument("--store", metavar="PATH", help="SQLite store (overrides [store] path)")
    add_logging_options(parser)
    parser.add_argument("--version", action="version", version=f"stresswatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"stresswatch.commands.{name}").register(sub)
    # `stresswatch run --date D -v` works too; SUPPRESS keeps a level given before the command
    for command_parser in _subcommands(parser):
        add_logging_options(command_parser, default=argparse.SUPPRESS)
    return parser


class StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is logged (not the stream of the moment the
    handler was made), so a replaced or closed stream of an earlier call is never written to."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D401 - the property logging.StreamHandler reads
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # logging.StreamHandler.__init__ assigns it; always sys.stderr
        pass


def setup_logging(level: str) -> None:
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RedactingFilter())  # secrets by value, arguments of any type
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # urllib3 logs every retry; the pipeline reports what finally failed
    logging.getLogger("urllib3").setLevel(logging.DEBUG if level == "DEBUG" else logging.ERROR)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.captureWarnings(True)


def command_name(args: argparse.Namespace) -> str:
    """The command as typed, without options: "stresswatch alerts silence" (subcommands live in
    `<command>_command`); it names the writer lock's holder."""
    parts = ["stresswatch", args.command]
    sub = getattr(args, f"{args.command}_command", None)
    if isinstance(sub, str):
        parts.append(sub)
    return " ".join(parts)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(out)
        return 2
    app = None
    try:
        from stresswatch.app.session import STORE_CREATING_COMMANDS, App  # the store and pandas: only once a command runs

        settings = load(args.config, overrides={"store.path": args.store, "log.level": args.log_level})
        setup_logging(settings["log"]["level"])
        app = App(settings, out, command=command_name(args), creates_store=args.command in STORE_CREATING_COMMANDS)
        reject_future_dates(args, app.today, settings["daemon"]["timezone"])
        return int(args.handler(args, app) or 0)
    except StresswatchError as exc:
        print(f"stresswatch: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `stresswatch series show ... | head`
        return 0
    finally:
        if app is not None:
            app.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
