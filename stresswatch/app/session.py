"""The session a command (or the daemon) works in: settings, the output stream, the clock, the
store (opened on first use, stamped with the same clock), the single-instance writer lock, and
"today" — `clock.today(clock, settings)`, the one definition every command's default date uses.

Opening the store (issue 13, "a mistyped --store path"): only the commands that bring data in
(`STORE_CREATING_COMMANDS`: fetch, backfill, run, daemon) create a store, and only in an existing
folder or in the default data folder (made when missing); every other command needs an existing
store and fails with exit 2 naming the path. A store that cannot be written opens read-only:
read commands work, and `lock()` (which every writing command takes) says why it cannot write.

The writer lock names its holder by the command ("stresswatch backfill (pid 4242, since ...)").
Taking it also closes ledger rows a dead writer left `running` (killed, or stopped by a disk or
database failure before it could record the outcome): no other writer can be running then.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Iterator, TextIO

from stresswatch import clock as clock_mod
from stresswatch.clock import Clock
from stresswatch.errors import StoreReadOnly
from stresswatch.lock import single_instance
from stresswatch.settings import Settings
from stresswatch.store import Store

#: commands that may create a missing store (those whose job is to bring data in)
STORE_CREATING_COMMANDS = frozenset({"fetch", "backfill", "run", "daemon"})


class App:
    """What a command handler gets: settings, the store (opened on first use), output, clock, lock.

    `command` names the command for the writer lock ("stresswatch backfill"); `creates_store`:
    whether this session may create a missing store (the CLI sets it per command; programmatic
    sessions default to True)."""

    def __init__(self, settings: Settings, out: TextIO, clock: Clock | None = None, *, command: str = "",
                 creates_store: bool = True):
        self.settings = settings
        self.out = out
        self.clock: Clock = clock or clock_mod.system_clock
        self.command = command
        self.creates_store = creates_store
        self._store: Store | None = None

    def now(self) -> dt.datetime:
        return self.clock()

    def today(self) -> dt.date:
        """Today in the `[daemon] timezone` (see `stresswatch.clock.today`)."""
        return clock_mod.today(self.clock, self.settings)

    def store(self) -> Store:
        """The store, opened on first use: created only when this session may create one, in an
        existing folder or the default data folder (StoreNotFound, exit 2, otherwise)."""
        if self._store is None:
            default_location = not self.settings["store"]["path"]
            self._store = Store.open(self.settings.store_path, busy_timeout=self.settings["store"]["busy_timeout"],
                                     clock=self.clock, create=self.creates_store, create_folder=default_location)
        return self._store

    @contextlib.contextmanager
    def lock(self, holder: str = "") -> Iterator[None]:
        """The single-instance writer lock (waits `[daemon] lock_wait` seconds, then LockHeld naming
        the holder). The store is opened first (a read-only store: StoreReadOnly saying why), and
        ledger rows a dead writer left `running` are closed as interrupted."""
        store = self.store()
        if store.read_only is not None:
            raise StoreReadOnly(f"the store {store.path} is read-only ({store.read_only}); "
                                f"{self.command or 'this command'} writes to it: run it as a user who may write the "
                                "file and its folder")
        name = self.command or ("stresswatch " + holder).strip()
        with single_instance(store.path, wait=self.settings["daemon"]["lock_wait"], holder=name):
            store.ledger.close_interrupted()
            yield

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
