"""The command line: parse arguments, load settings, call the concern's handler with an
`app.session.App`, and turn StresswatchError into a message and an exit code (0 ok, 1 part
failed, 2 usage or config error). No orchestration lives here.

Subcommands live in `stresswatch/commands/<concern>.py`, each exposing `register(subparsers)`;
the argparse helpers they share (`command`, `add_format`, `iso_date`) live in
`stresswatch.commands`.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Sequence, TextIO

from stresswatch import __version__
from stresswatch.app.session import App
from stresswatch.errors import StresswatchError
from stresswatch.redaction import redact
from stresswatch.settings import load

COMMAND_MODULES = ("data", "sources", "compute", "regimes", "events", "report", "alerts", "daemon", "demo")

log = logging.getLogger("stresswatch")


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
        importlib.import_module(f"stresswatch.commands.{name}").register(sub)
    return parser


def setup_logging(level: str) -> None:
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
