"""Shared test fixtures: the real specimens in tests/specimens, the ../shared folder (optional), a fresh
store, settings for a temp folder."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from stresswatch import settings as settings_mod
from stresswatch.store import Store

REPO = Path(__file__).resolve().parents[1]

# The test SMTP server (aiosmtpd) logs every connection at INFO on "mail.log"; a CLI run in a test
# leaves its stderr handler on the root logger, so those lines would land in the test output.
logging.getLogger("mail.log").setLevel(logging.WARNING)

SPECIMENS = REPO / "tests" / "specimens"


def specimen(source: str, name: str) -> Path:
    """A real API response kept in the repository (tests/specimens/<source>/<name>, provenance in
    tests/specimens/README.md). Never skips: a missing specimen is a broken checkout."""
    path = SPECIMENS / source / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: specimens are part of the repository")
    return path


def shared_root() -> Path:
    """The ../shared folder (bulk real history, the original captures): `$STRESSWATCH_SHARED` when set,
    else `shared` beside the repository. It may not exist (a fresh clone)."""
    return Path(os.environ.get("STRESSWATCH_SHARED") or REPO.parent / "shared")


def shared_path(*parts: str) -> Path:
    """A path under ../shared (real captures and history); skips the test when it is absent."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent in a fresh clone)")
    return path


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Keep every test away from the real user folders and from the developer's environment."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("STRESSWATCH_HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    for var in list(os.environ):
        if var.startswith("STRESSWATCH_") and var not in ("STRESSWATCH_HOME", "STRESSWATCH_SHARED"):
            monkeypatch.delenv(var)
    yield


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "sw.db")
    yield s
    s.close()


def all_observations(store: Store) -> list[tuple[str, str, str, float]]:
    """Every stored vintage as (series_id, date, known_at, value), ordered."""
    out = []
    for series in store.observations.list_series():
        frame = store.observations.all_vintages(series["id"])
        out += [(series["id"], d.date().isoformat(), k.date().isoformat(), v)
                for d, k, v in zip(frame["date"], frame["known_at"], frame["value"])]
    return sorted(out)


def settings_for(tmp_path: Path, **overrides):
    """Settings with the store in tmp_path and fast HTTP (no backoff, no pacing) for local fakes.
    Overrides use dotted names: settings_for(tmp_path, **{"sources.cbr.base_url": url})."""
    values = {"store.path": str(tmp_path / "sw.db"), "http.backoff_factor": 0.0, "http.retry_after_max": 1.0}
    base = settings_mod.defaults()
    for section in base.source_ids:
        values[f"sources.{section}.min_interval"] = 0.0
    values.update(overrides)
    return settings_mod.load(environ={}, overrides=values)


def run_cli(monkeypatch, env: dict[str, str], *argv: str) -> tuple[int, str]:
    """Run the real CLI in-process with `env` set; returns (exit code, stdout)."""
    import io

    from stresswatch import cli

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    out = io.StringIO()
    return cli.main(list(argv), out=out), out.getvalue()
