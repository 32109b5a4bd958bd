"""The demo store: a folder of its own (the user data folder's `demo/`, or one the user names)
holding `stresswatch.db`, a settings file `stresswatch.toml` that points every command at it, and
`reports/`; filled from the shipped sample (`demo.sample`), computed and reported as of the demo
date without any network.

It is never the user's store: the folder gets a marker file (`DEMO`), a folder that holds a store
without that marker is refused, and so is the configured store's own path. Rebuilding replaces the
demo store and keeps nothing else in the folder but what it wrote. Every source is disabled in the
demo settings, so a command run with them never reaches the network.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from stresswatch import settings as settings_mod
from stresswatch.clock import Clock, system_clock
from stresswatch.compute import compute
from stresswatch.demo import DEMO_DATE
from stresswatch.demo.sample import read_sample
from stresswatch.errors import UsageError
from stresswatch.lock import single_instance
from stresswatch.reports.render import render_day
from stresswatch.settings import Settings
from stresswatch.store import Store

STORE_NAME = settings_mod.DEFAULT_STORE_NAME
CONFIG_NAME = "stresswatch.toml"
MARKER = "DEMO"
MARKER_TEXT = ("This folder holds the stresswatch demo store, built by `stresswatch demo` from the Bank of Russia "
               "sample shipped with stresswatch. `stresswatch demo` may delete and rebuild it.\n")


def default_folder() -> Path:
    """The demo folder when none is named: `demo/` in the user data folder."""
    return settings_mod.user_data_dir() / "demo"


def demo_date() -> dt.date:
    return dt.date.fromisoformat(DEMO_DATE)


def config_text(folder: Path) -> str:
    """The demo's settings file: the store and reports in `folder`, no source enabled (no network),
    the emerging-market table limited to the one currency the sample has (CNY)."""
    sources = settings_mod.defaults().source_ids
    lines = ["# stresswatch demo settings, written by `stresswatch demo` (rebuilt with the store)",
             "[store]", f"path = {_toml_string(folder / STORE_NAME)}",
             "[report]", f"out = {_toml_string(folder / 'reports')}", 'em_currencies = ["CNY"]']
    for source in sources:
        lines += [f"[sources.{source}]", "enabled = false"]
    return "\n".join(lines) + "\n"


def _toml_string(path: Path) -> str:
    return '"' + str(path).replace("\\", "\\\\").replace('"', '\\"') + '"'


def check_folder(folder: Path, user_store: Path | None) -> None:
    """UsageError when `folder` is not safe to (re)build a demo store in: it holds the user's store,
    or a store file that no demo made."""
    store = (folder / STORE_NAME).expanduser()
    if user_store is not None and store.resolve() == Path(user_store).expanduser().resolve():
        raise UsageError(f"{store} is your store ([store] path); the demo builds its own store elsewhere: "
                         f"choose another --path")
    if store.exists() and not (folder / MARKER).exists():
        raise UsageError(f"{folder} already holds a store that the demo did not make ({store}); "
                         f"choose another --path")


@dataclass
class DemoResult:
    """What `build` made: the folder, store, settings file, the report and how long each step took."""

    folder: Path
    store: Path
    config: Path
    report: Path
    date: dt.date
    observations: int
    first: dt.date
    last: dt.date
    seconds: dict[str, float] = field(default_factory=dict)
    headline: str = ""


def _remove_store(folder: Path) -> None:
    for name in (STORE_NAME, STORE_NAME + "-wal", STORE_NAME + "-shm"):
        (folder / name).unlink(missing_ok=True)


def build(folder: Path | None = None, *, day: dt.date | None = None, user_store: Path | None = None,
          clock: Clock = system_clock, say: Callable[[str], None] = lambda _text: None) -> DemoResult:
    """(Re)build the demo store in `folder` from the shipped sample, compute the analysis as of
    `day` (default 2023-08-16) and render its report into `folder/reports`. `say` hears each step
    as it starts. Never touches `user_store`."""
    folder = (folder or default_folder()).expanduser().resolve()
    day = day or demo_date()
    check_folder(folder, user_store)
    sample = read_sample()
    if not sample.first <= day <= sample.last:
        raise UsageError(f"the demo sample covers {sample.first}..{sample.last}; choose a --date in it")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    config = folder / CONFIG_NAME
    config.write_text(config_text(folder), encoding="utf-8")
    settings: Settings = settings_mod.load(config, environ={})
    seconds: dict[str, float] = {}
    with single_instance(settings.store_path, holder="demo"):
        _remove_store(folder)
        started = time.perf_counter()
        say(f"loading the sample into {settings.store_path}")
        with Store.open(settings.store_path, clock=clock) as store:
            store.observations.upsert_series(sample.series)
            store.observations.write_observations(sample.observations, fetched_at=clock())
            seconds["load"] = time.perf_counter() - started
            say(f"computing indicators, the stress index and the regime models as of {day}")
            mark = time.perf_counter()
            result = compute(store, settings, day)
            seconds["compute"] = time.perf_counter() - mark
            if result.regimes_error:
                raise UsageError(f"the demo's regime models failed: {result.regimes_error}")
            say(f"rendering the report of {day}")
            mark = time.perf_counter()
            rendered = render_day(store, settings, day, clock=clock)
            seconds["report"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    head = (rendered.context or {}).get("headline") or {}
    return DemoResult(folder=folder, store=settings.store_path, config=config,
                      report=rendered.folders[0] / "report.html", date=day, observations=len(sample.observations),
                      first=sample.first, last=sample.last, seconds=seconds,
                      headline=(f"{head.get('regime')} regime, P(stress) {100 * head['p_stress_filtered']:.0f}% "
                                f"(model {head.get('model_id')})" if head.get("available") else ""))
