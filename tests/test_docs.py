"""README.md and docs/*.md cover the whole user surface: every CLI command and subcommand, every setting
(each section's keys, the [sources.<id>] keys, the fields of array-of-table settings), and the TOML
examples in them are valid settings files. docs/settings.md's reference tables are generated from the
declarations in stresswatch.settings; this test keeps them in sync.

Regenerate the reference after changing a declaration: `python -m tests.test_docs` (rewrites the part
of docs/settings.md below the marker line; the text above it is written by hand).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest

from stresswatch import settings as settings_mod
from stresswatch.cli import build_parser
from stresswatch.settings import REQUIRED, Section, Setting, all_sections

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "docs" / "settings.md"
MARKER = ("<!-- Generated from the declarations in stresswatch/settings.py and the fetchers' extra_settings "
          "by `python -m tests.test_docs`; tests/test_docs.py keeps it in sync. Do not edit below. -->")


def doc_files() -> list[Path]:
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def docs_text() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in doc_files())


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------
def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path, nested subcommands included: ("alerts",), ("alerts", "silence"), ..."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield path + (name,)
                yield from commands(sub, path + (name,))


def command_documented(path: tuple[str, ...], text: str) -> bool:
    """Shown as an invocation (`stresswatch [global options] alerts silence ...`) or named in a code
    span that starts with the command (`alerts silence RULE --until D`)."""
    words = r"\s+".join(re.escape(w) for w in path) + r"(?![\w-])"
    invocation = r"stresswatch(?:\s+--[\w-]+(?:[ =][^\s-]\S*)?)*\s+" + words
    return bool(re.search(invocation, text) or re.search("`" + words, text))


def test_the_walk_finds_nested_subcommands():
    found = set(commands(build_parser()))
    assert {("fetch",), ("alerts", "silence"), ("regimes", "summary"), ("config", "show")} <= found


def test_every_command_and_subcommand_is_documented():
    text = docs_text()
    missing = [" ".join(path) for path in commands(build_parser()) if not command_documented(path, text)]
    assert missing == [], f"commands missing from README.md and docs/: {missing}"


# ---------------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------------
def setting_names() -> list[str]:
    """Dotted names of every setting, and of each field of an array-of-tables setting."""
    names = []
    for section in all_sections():
        for setting in section.settings:
            names.append(f"{section.name}.{setting.name}")
            names.extend(f"{section.name}.{setting.name}.{f.name}" for f in setting.fields)
    return names


def toml_blocks(text: str) -> list[str]:
    return re.findall(r"^```toml\n(.*?)^```", text, flags=re.S | re.M)


def toml_keys(data: Any, prefix: str = "") -> Iterator[str]:
    """Dotted key paths in parsed TOML; arrays of tables contribute their fields (`alerts.rules.kind`)."""
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}.{key}" if prefix else key
            yield name
            yield from toml_keys(value, name)
    elif isinstance(data, list):
        for item in data:
            if isinstance(item, dict):
                yield from toml_keys(item, prefix)


def setting_documented(name: str, text: str, plain: str, in_toml: set[str]) -> bool:
    """`section.key` (or `section.list.field`) spelled out, `[section] key` as the docs write it,
    its environment variable, or the key set in a TOML example."""
    section, key = name.rsplit(".", 1)
    spelled = re.search(r"(?<![\w.])" + re.escape(name) + r"(?![\w])", plain)
    bracketed = re.search(r"\[" + re.escape(section) + r"\]\s+" + re.escape(key) + r"(?![\w])", plain)
    env = "STRESSWATCH_" + name.upper().replace(".", "__")
    return bool(spelled or bracketed or env in text or name in in_toml)


def test_every_setting_is_documented():
    text = docs_text()
    plain = text.replace("`", "")
    in_toml = {key for block in toml_blocks(text) for key in toml_keys(tomllib.loads(block))}
    missing = [name for name in setting_names() if not setting_documented(name, text, plain, in_toml)]
    assert missing == [], f"settings missing from README.md and docs/: {missing}"


def test_toml_examples_in_the_docs_are_valid_settings(tmp_path):
    roots = {section.name.split(".")[0] for section in all_sections()}
    checked = 0
    for path in doc_files():
        for i, block in enumerate(toml_blocks(path.read_text(encoding="utf-8"))):
            data = tomllib.loads(block)  # every TOML example parses
            if set(data) <= roots:       # and a settings example loads without a ConfigError
                config = tmp_path / f"{path.stem}-{i}.toml"
                config.write_text(block, encoding="utf-8")
                settings_mod.load(config, environ={})
                checked += 1
    assert checked  # the pattern found the examples


# ---------------------------------------------------------------------------------------------
# docs/settings.md: the generated reference
# ---------------------------------------------------------------------------------------------
def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _default(setting: Setting) -> str:
    value = setting.default
    if value is REQUIRED:
        return "required"
    if setting.kind == "list[table]" and value:
        ids = [str(item.get("id", "?")) for item in value]
        return f"{len(value)} built-in: " + ", ".join(f"`{i}`" for i in ids)
    return "`" + _value(value).replace("|", "\\|") + "`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "\\<")


def _section(section: Section) -> list[str]:
    lines = [f"## `[{section.name}]`", "", _cell(section.help), "",
             "| setting | default | allowed | what it does |", "|---|---|---|---|"]
    for s in section.settings:
        name = f"{section.name}.{s.name}"
        lines.append(f"| `{name}` | {_default(s)} | {_cell(s.allowed())} | {_cell(s.help)} |")
        for f in s.fields:
            lines.append(f"| `{name}.{f.name}` | {_default(f)} | {_cell(f.allowed())} | {_cell(f.help)} |")
    return lines + [""]


def render_reference() -> str:
    """The generated part of docs/settings.md: one table per section, in declaration order."""
    lines: list[str] = []
    for section in all_sections():
        lines.extend(_section(section))
    return "\n".join(lines)


def test_settings_reference_is_in_sync_with_the_declarations():
    text = REFERENCE.read_text(encoding="utf-8")
    assert MARKER in text, f"{REFERENCE} lost its marker line"
    generated = text.split(MARKER, 1)[1].lstrip("\n")
    if generated != render_reference():
        pytest.fail(f"{REFERENCE.relative_to(REPO)} is out of date: run `python -m tests.test_docs`")


def write_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    head = text.split(MARKER, 1)[0] if MARKER in text else text.rstrip("\n") + "\n\n"
    REFERENCE.write_text(head + MARKER + "\n\n" + render_reference(), encoding="utf-8")


if __name__ == "__main__":  # python -m tests.test_docs
    write_reference()
    print(f"wrote {REFERENCE}", file=sys.stderr)
