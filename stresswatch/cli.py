"""The command line: parse arguments, load settings, call the concern's handler, and turn
StresswatchError into a message and an exit code (0 ok, 1 part failed, 2 usage or config error).

Subcommands live in `stresswatch/commands/<concern>.py`, each exposing `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import logging
import sys
from typing import Callable, Iterator, Sequence, TextIO

from stresswatch import __version__
from stresswatch.errors import StresswatchError
from stresswatch.settings import Settings, load

COMMAND_MODULES = ("data", "sources", "compute", "regimes", "events", "report", "alerts", "daemon")

log = logging.getLogger("stresswatch")


class App:
    """What a command handler gets: settings, the store (opened on first use), output, clock, lock."""

    def __init__(self, settings: Settings, out: TextIO, clock: Callable[[], dt.datetime] | None = None):
        self.settings = settings
        self.out = out
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._store = None

    def now(self) -> dt.datetime:
        return self._clock()

    def today(self) -> dt.date:
        return self.now().date()

    def store(self):
        if self._store is None:
            from stresswatch.store import Store

            self._store = Store.open(self.settings.store_path, busy_timeout=self.settings["store"]["busy_timeout"])
        return self._store

    @contextlib.contextmanager
    def lock(self, holder: str = "") -> Iterator[None]:
        """The single-instance writer lock (waits `[daemon] lock_wait` seconds, then LockError)."""
        from stresswatch.lock import single_instance

        with single_instance(self.settings.store_path, wait=self.settings["daemon"]["lock_wait"],
                             holder=holder or " ".join(sys.argv[1:3])):
            yield

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


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
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="log level")
    parser.add_argument("--version", action="version", version=f"stresswatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"stresswatch.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"stresswatch.commands.{name}":
                continue  # that concern has no commands yet
            raise
        module.register(sub)
    return parser


def setup_logging(level: str) -> None:
    from stresswatch.redaction import redact

    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = redact(str(record.msg))
            if record.args:
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return True

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(Redact())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
    # urllib3 logs every retry; the pipeline reports what finally failed
    logging.getLogger("urllib3").setLevel(logging.DEBUG if level == "DEBUG" else logging.ERROR)
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    logging.captureWarnings(True)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help(out)
        return 2
    app = None
    try:
        settings = load(args.config, overrides={"store.path": args.store, "log.level": args.log_level})
        setup_logging(settings["log"]["level"])
        app = App(settings, out)
        return int(args.handler(args, app) or 0)
    except StresswatchError as exc:
        print(f"stresswatch: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # `stresswatch series show ... | head`
        return 0
    finally:
        if app is not None:
            app.close()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
