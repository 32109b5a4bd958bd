"""The SQLite store: the only door to the database.

`Store.open(path, busy_timeout, clock, create=..., create_folder=...)` opens (WAL) and migrates one
database; its `*_at` stamps (written_at, finished_at, created_at, ...) come from `clock` (default:
the system clock). `Store.open_readonly(path)` opens an existing one for reading only (nothing
created, migrated or written; the notebook API, `stresswatch.api`, uses it). A missing store is created only with `create=True` (the default), and only in
an existing folder unless `create_folder=True`; `create=False` raises StoreNotFound (exit 2). A
store that cannot be written opens read-only (`read_only` says why; writes raise StoreReadOnly).
Every sqlite3 failure reaches callers as a typed StoreError (see `database.py`). `Store` composes
one gateway per table group, and each gateway module owns its tables:

    attribute       module            tables
    observations    observations.py   series, observations (vintages)
    payloads        payloads.py       raw_payloads
    ledger          ledger.py         runs
    model_runs      model_runs.py     model_runs, regime_probs
    backtests       backtests.py      regime_backtests, regime_backtest_rows
    compute_state   compute_state.py  compute_state, compute_state_arrays
    alerts          alerts.py         alert_state, alert_history, silences
    outbox          outbox.py         outbox
    daemon_state    daemon_state.py   daemon_state
    reports         reports.py        report_index, report_ledger_snapshots
    candidates      candidates.py     gdelt_candidates, gdelt_candidate_queries
    alignments      alignments.py     alignments, alignment_statements, alignment_aggregates
    quarantine      quarantine.py     quarantine (values a plausibility rule refused)
    (the store)     database.py       schema_migrations

Migrations are `store/migrations/NNNN_*.sql`, applied in name order. Cross-table atomic writes:

    with store.transaction():
        store.observations.write_observations(...)
        store.ledger.finish(...)

Every gateway write joins the open transaction (else it commits on its own); `transaction()`
hands nothing to the caller.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from stresswatch.clock import Clock, system_clock
from stresswatch.errors import StoreReadOnly
from stresswatch.store.alerts import AlertTables
from stresswatch.store.alignments import Alignments
from stresswatch.store.backtests import Backtests
from stresswatch.store.candidates import Candidates
from stresswatch.store.compute_state import ComputeState
from stresswatch.store.daemon_state import DaemonState
from stresswatch.store.database import Database
from stresswatch.store.ledger import Ledger
from stresswatch.store.model_runs import ModelRuns
from stresswatch.store.observations import Observations
from stresswatch.store.outbox import Outbox
from stresswatch.store.payloads import Payloads
from stresswatch.store.quarantine import Quarantine
from stresswatch.store.reports import ReportTables

__all__ = ["Store"]


class Store:
    """One SQLite database. Open with `Store.open(path)`; use as a context manager to close."""

    def __init__(self, db: Database):
        self._db = db
        self.observations = Observations(db)
        self.payloads = Payloads(db)
        self.ledger = Ledger(db)
        self.model_runs = ModelRuns(db)
        self.backtests = Backtests(db)
        self.compute_state = ComputeState(db)
        self.alerts = AlertTables(db)
        self.outbox = Outbox(db)
        self.daemon_state = DaemonState(db)
        self.reports = ReportTables(db)
        self.candidates = Candidates(db)
        self.alignments = Alignments(db)
        self.quarantine = Quarantine(db)

    @classmethod
    def open(cls, path: str | Path, busy_timeout: float = 30.0, clock: Clock = system_clock, *,
             create: bool = True, create_folder: bool = False) -> "Store":
        """Open and migrate the database at `path`; `clock` stamps what the gateways write. A
        missing store is created when `create` (in an existing folder, or any with `create_folder`)."""
        db = Database.open(path, busy_timeout, clock, create=create, create_folder=create_folder)
        try:
            db.migrate()
        except BaseException:
            db.close()
            raise
        return cls(db)

    @classmethod
    def open_readonly(cls, path: str | Path, busy_timeout: float = 30.0, clock: Clock = system_clock) -> "Store":
        """Open an existing, migrated store for reading only: nothing is created, migrated or
        written (the file's bytes and mtime stay unchanged) and every gateway write raises
        StoreReadOnly. StoreNotFound when there is no store at `path`, StoreReadOnly when it needs
        migrating first."""
        db = Database.open_readonly(path, busy_timeout, clock)
        pending = db.pending_migrations()
        if pending:
            db.close()
            raise StoreReadOnly(f"the store at {db.path} is not up to date (migrations {', '.join(pending)} pending); "
                                f"open it once with a stresswatch command that writes, e.g. `stresswatch --store "
                                f"{db.path} compute`")
        return cls(db)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def read_only(self) -> str | None:
        """None when the store can be written, else why not (reads still work)."""
        return self._db.read_only

    @property
    def clock(self) -> Clock:
        """The clock the store stamps its writes with."""
        return self._db.clock

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error); gateway writes inside join it, and a
        nested `transaction()` joins the outer one. Yields nothing: writes go through the gateways."""
        with self._db.transaction():
            yield

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded; returns the names applied."""
        return self._db.migrate()

    def integrity_check(self) -> str:
        return self._db.integrity_check()

    def verify(self) -> None:
        """`PRAGMA quick_check` now; StoreCorrupt when the store is damaged (writes are then refused)."""
        self._db.verify()
