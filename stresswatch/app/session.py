"""The session a command (or the daemon) works in: settings, the output stream, the clock, the
store (opened on first use, stamped with the same clock), the single-instance writer lock, and
"today" — `clock.today(clock, settings)`, the one definition every command's default date uses.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from typing import Iterator, TextIO

from stresswatch import clock as clock_mod
from stresswatch.clock import Clock
from stresswatch.lock import single_instance
from stresswatch.settings import Settings
from stresswatch.store import Store


class App:
    """What a command handler gets: settings, the store (opened on first use), output, clock, lock."""

    def __init__(self, settings: Settings, out: TextIO, clock: Clock | None = None):
        self.settings = settings
        self.out = out
        self.clock: Clock = clock or clock_mod.system_clock
        self._store: Store | None = None

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        """Today in the `[daemon] timezone` (see `stresswatch.clock.today`)."""
        return clock_mod.today(self.clock, self.settings)

    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.store_path, busy_timeout=self.settings["store"]["busy_timeout"],
                                     clock=self.clock)
        return self._store

    @contextlib.contextmanager
    def lock(self, holder: str = "") -> Iterator[None]:
        """The single-instance writer lock (waits `[daemon] lock_wait` seconds, then LockError)."""
        with single_instance(self.settings.store_path, wait=self.settings["daemon"]["lock_wait"],
                             holder=holder or " ".join(sys.argv[1:3])):
            yield

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
