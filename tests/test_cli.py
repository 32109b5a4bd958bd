"""The command line as a whole: every command documents itself with an example; --version and
--help stay light (the import graph); logging options; no date after today for any command."""

import argparse
import datetime as dt
import io
import logging
import subprocess
import sys

import pytest

from stresswatch.cli import build_parser, main
from stresswatch.commands import iso_date
from stresswatch.errors import UsageError


def _commands(parser: argparse.ArgumentParser, prefix=()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from _commands(sub, prefix + (name,))


COMMANDS = list(_commands(build_parser()))


def test_the_core_commands_are_there():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"fetch", "backfill", "series list", "series show", "status", "reparse", "config show"} <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_has_help_with_an_example(path, capsys):
    with pytest.raises(SystemExit) as done:
        main(list(path) + ["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    head, sep, examples = text.partition("example")
    assert sep and "stresswatch " in examples, text


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "stresswatch", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("stresswatch ")


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# --version and --help stay light: measured as an import graph, not in seconds
# ---------------------------------------------------------------------------------------------
HEAVY = ("pandas", "numpy", "statsmodels", "matplotlib", "scipy")


def _imported(*argv: str) -> tuple[int, set[str], str]:
    """Run `python -X importtime -m stresswatch ARGV` in a fresh interpreter; return its exit code,
    the names of every module it imported and its stdout."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "stresswatch", *argv],
                            capture_output=True, text=True)
    modules = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
               if line.startswith("import time:") and "|" in line and "self [us]" not in line}
    return result.returncode, modules, result.stdout


@pytest.mark.parametrize("argv", [("--version",), ("--help",), ("run", "--help"), ("series", "show", "--help"),
                                  ("regimes", "episodes", "--help"), ("report", "--help")])
def test_version_and_help_do_not_import_pandas_statsmodels_or_matplotlib(argv):
    code, modules, stdout = _imported(*argv)
    assert code == 0 and stdout
    assert {"stresswatch.cli", "stresswatch.settings", "stresswatch.output"} <= modules  # the graph was seen
    heavy = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert heavy == [], heavy[:10]
    # nor the modules that pull them in: the store, compute, the regimes and reports packages
    ours = sorted(m for m in modules if m.startswith(("stresswatch.store", "stresswatch.compute",
                                                       "stresswatch.regimes", "stresswatch.reports")))
    assert ours == []


def test_building_the_parser_imports_no_heavy_module():
    """The same in a fresh interpreter through sys.modules (the command modules are loaded with
    importlib, which -X importtime does not list)."""
    script = ("import sys; from stresswatch.cli import build_parser; build_parser(); "
              "print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                check=True).stdout.split())
    assert {"stresswatch.commands.regimes", "stresswatch.commands.data", "stresswatch.commands.report"} <= loaded
    assert sorted(m for m in loaded if m.split(".")[0] in HEAVY) == []
    assert sorted(m for m in loaded if m.startswith(("stresswatch.store", "stresswatch.compute",
                                                      "stresswatch.regimes", "stresswatch.reports",
                                                      "stresswatch.app"))) == []


def test_a_command_still_imports_what_it_needs(tmp_path):
    from stresswatch.store import Store

    Store.open(tmp_path / "sw.db", create=True).close()  # read commands never create a store
    code, modules, _ = _imported("--store", str(tmp_path / "sw.db"), "series", "list", "--format", "json")
    assert code == 0 and {"pandas", "stresswatch.store"} <= modules


# ---------------------------------------------------------------------------------------------
# logging options
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, level", [
    (["--log-level", "debug"], logging.DEBUG), (["--log-level", "Warning"], logging.WARNING),
    (["-q"], logging.WARNING), (["--quiet"], logging.WARNING), (["-v"], logging.DEBUG),
    (["--verbose"], logging.DEBUG), ([], logging.INFO)])
def test_log_level_any_case_quiet_and_verbose(tmp_path, argv, level):
    out = io.StringIO()
    assert main(["--store", str(tmp_path / "sw.db"), *argv, "config", "show", "--format", "json"], out=out) == 0
    assert logging.getLogger().level == level


def test_logging_options_also_after_the_command_and_a_level_before_it_is_kept(tmp_path):
    store = ["--store", str(tmp_path / "sw.db")]
    assert main([*store, "config", "show", "-v"], out=io.StringIO()) == 0
    assert logging.getLogger().level == logging.DEBUG
    assert main([*store, "-q", "config", "show"], out=io.StringIO()) == 0
    assert logging.getLogger().level == logging.WARNING


def test_a_bad_log_level_or_two_levels_at_once_is_a_usage_error(capsys):
    for argv in (["--log-level", "loud", "config", "show"], ["-q", "-v", "config", "show"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'LOUD'" in err and "not allowed with argument" in err


# ---------------------------------------------------------------------------------------------
# dates after today
# ---------------------------------------------------------------------------------------------
def _date_options():
    """(command path, option) for every date option of every command, from the parser itself."""
    for path, parser in COMMANDS:
        for action in parser._actions:
            if action.type is iso_date and action.option_strings:
                yield path, parser, action


def _required_args(parser, skip):
    """Arguments that make `parser` parse: a value for each positional and required option."""
    argv = []
    for action in parser._actions:
        if action is skip or isinstance(action, argparse._SubParsersAction):
            continue
        if not action.option_strings:
            argv.append("x")
        elif action.required:
            argv += [action.option_strings[0], "2020-01-02" if action.type is iso_date else "x"]
    return argv


DATE_OPTIONS = [(path, parser, action) for path, parser, action in _date_options()]
MAY_BE_FUTURE = {("alerts", "silence", "--until"), ("alerts", "silence", "--start")}


def test_every_command_with_a_date_is_in_the_list():
    commands = {" ".join(path) for path, _p, _a in DATE_OPTIONS}
    assert {"run", "report", "fetch", "backfill", "series show", "status", "compute", "indicators show",
            "regimes show", "regimes episodes", "regimes summary", "regimes fit", "events align",
            "events candidates", "alerts silence"} <= commands


@pytest.mark.parametrize("path, parser, action", DATE_OPTIONS,
                         ids=[f"{' '.join(p)} {a.option_strings[0]}" for p, _x, a in DATE_OPTIONS])
def test_a_date_after_today_is_a_usage_error_for_every_command(tmp_path, path, parser, action, capsys):
    from stresswatch.clock import system_clock, today
    from stresswatch.settings import load

    tomorrow = today(system_clock, load(environ={})) + dt.timedelta(days=1)
    option = action.option_strings[0]
    argv = ["--store", str(tmp_path / "sw.db"), *path, *_required_args(parser, action), option, tomorrow.isoformat()]
    code = main(argv, out=io.StringIO())
    err = capsys.readouterr().err
    if path + (option,) in MAY_BE_FUTURE:
        assert "in the future" not in err
        return
    assert code == 2, err
    assert f"{option} {tomorrow} is in the future (today is " in err and "Europe/Moscow" in err
    assert not (tmp_path / "sw.db").exists()  # refused before anything was opened or written


def test_today_for_the_date_check_is_the_daemon_time_zones(tmp_path):
    from stresswatch.app.session import App
    from stresswatch.clock import FixedClock
    from stresswatch.commands import reject_future_dates
    from tests.conftest import settings_for

    late_friday = FixedClock("2024-03-01T22:30:00Z")  # already Saturday in Moscow
    for zone, saturday_ok in (("Europe/Moscow", True), ("UTC", False)):
        app = App(settings_for(tmp_path, **{"daemon.timezone": zone}), io.StringIO(), late_friday)
        args = build_parser().parse_args(["run", "--date", "2024-03-02"])
        if saturday_ok:
            reject_future_dates(args, app.today, zone)
        else:
            with pytest.raises(UsageError, match=r"--date 2024-03-02 is in the future \(today is 2024-03-01 in UTC\)"):
                reject_future_dates(args, app.today, zone)


def test_a_command_without_a_date_does_not_need_today(tmp_path, capsys):
    """A bad [daemon] timezone stops what needs "today", not `config show` (the way to look at it)."""
    from stresswatch.app.session import App
    from stresswatch.commands import reject_future_dates
    from tests.conftest import settings_for

    app = App(settings_for(tmp_path, **{"daemon.timezone": "Mars/Olympus"}), io.StringIO())
    reject_future_dates(build_parser().parse_args(["config", "show"]), app.today, "Mars/Olympus")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[daemon]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    assert main(["--config", str(cfg), "config", "show", "--format", "json"], out=io.StringIO()) == 0
    assert main(["--config", str(cfg), "run", "--date", "2024-01-02"], out=io.StringIO()) == 2
    assert "is not a known IANA time zone" in capsys.readouterr().err


def test_run_for_2099_exits_2_at_once_and_writes_nothing(tmp_path, capsys):
    code = main(["--store", str(tmp_path / "sw.db"), "run", "--date", "2099-01-01"], out=io.StringIO())
    assert code == 2 and "--date 2099-01-01 is in the future" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
