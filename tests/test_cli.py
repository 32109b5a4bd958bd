"""The command line as a whole: every command documents itself with an example."""

import argparse
import subprocess
import sys

import pytest

from stresswatch.cli import build_parser, main


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
