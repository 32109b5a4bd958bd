"""The real specimens in tests/specimens: each listed with its provenance, small, and unmodified."""

from __future__ import annotations

import fnmatch
import hashlib
import re
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO, SPECIMENS, shared_path

LIMIT = 50_000  # bytes; bulk history stays in ../shared
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \|.*\| (?P<sha>[0-9a-f]{16}) / (?P<size>\d+) \|$")


def listed() -> dict[str, tuple[str, int]]:
    """'<source>/<file>' -> (sha256[:16], size) from the tables of tests/specimens/README.md."""
    out: dict[str, tuple[str, int]] = {}
    source = None
    for line in (SPECIMENS / "README.md").read_text(encoding="utf-8").splitlines():
        heading = re.match(r"^## (\w+)/ ", line)
        if line.startswith("## "):
            source = heading.group(1) if heading else None
        elif source and (row := ROW.match(line)):
            out[f"{source}/{row['name']}"] = (row["sha"], int(row["size"]))
    return out


def present() -> dict[str, Path]:
    return {f"{p.parent.name}/{p.name}": p for p in sorted(SPECIMENS.glob("*/*")) if p.is_file()}


def test_every_specimen_is_listed_with_its_provenance_and_nothing_else():
    assert set(present()) == set(listed())
    assert {key.split("/")[0] for key in present()} == {"bis", "cbr", "comtrade", "fred", "imf"}


@pytest.mark.parametrize("key", sorted(present()))
def test_specimen_is_small_and_has_the_listed_bytes(key):
    body = present()[key].read_bytes()
    sha, size = listed()[key]
    assert len(body) < LIMIT
    assert (hashlib.sha256(body).hexdigest()[:16], len(body)) == (sha, size)


def test_specimens_equal_the_originals_in_shared():
    originals = shared_path("fixtures", "real")
    for key, path in present().items():
        assert path.read_bytes() == (originals / key).read_bytes(), key


def test_specimens_are_test_data_only():
    """Neither the wheel nor the sdist ships them: setuptools packages only stresswatch*, and without a
    MANIFEST.in the sdist carries only the top-level tests/test*.py (seen by building both)."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    patterns = setuptools["packages"]["find"]["include"]
    assert not any(fnmatch.fnmatch(name, pattern) for name in ("tests", "tests.specimens") for pattern in patterns)
    assert not any(name.startswith("tests") for name in setuptools.get("package-data", {}))
    manifest = REPO / "MANIFEST.in"
    assert not manifest.exists() or "prune tests/specimens" in manifest.read_text(encoding="utf-8")
