"""The compute step's stored state (tables `compute_state`, `compute_state_arrays`; migration 0008).

One state per store: the as-of date it describes, the first grid day, a fingerprint of what
produced it, when that compute started, and named float64 arrays (one value per business day of
the grid). `stresswatch.compute` decides what the
arrays mean and whether the state still applies; this module only keeps them. Saving replaces
the whole state in one transaction; a cold compute rebuilds it, so dropping it loses nothing but
time.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from stresswatch.store.database import Database


@dataclass
class StoredState:
    asof: dt.date
    grid_start: dt.date
    fingerprint: str
    started_at: str
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    written_at: str = ""


class ComputeState:
    """Load, save and drop the compute state."""

    def __init__(self, db: Database):
        self._db = db

    def load(self, with_arrays: bool = True) -> StoredState | None:
        row = self._db.query_one("SELECT * FROM compute_state WHERE id = 1")
        if row is None:
            return None
        state = StoredState(dt.date.fromisoformat(row["asof"]), dt.date.fromisoformat(row["grid_start"]),
                            row["fingerprint"], row["started_at"], written_at=row["written_at"])
        if with_arrays:
            for r in self._db.query("SELECT name, length, data FROM compute_state_arrays"):
                values = np.frombuffer(r["data"], dtype="<f8")
                if len(values) != r["length"]:
                    return None  # a damaged row: the state is a cache, rebuild it
                state.arrays[r["name"]] = values.copy()
        return state

    def save(self, state: StoredState) -> None:
        """Replace the stored state (header and every array) in one transaction."""
        with self._db.transaction():
            self._db.execute("DELETE FROM compute_state_arrays")
            self._db.executemany(
                "INSERT INTO compute_state_arrays (name, length, data) VALUES (?, ?, ?)",
                [(name, len(a), np.ascontiguousarray(a, dtype="<f8").tobytes()) for name, a in state.arrays.items()])
            self._db.execute(
                """INSERT INTO compute_state (id, asof, grid_start, fingerprint, started_at, written_at)
                   VALUES (1, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET asof = excluded.asof, grid_start = excluded.grid_start,
                     fingerprint = excluded.fingerprint, started_at = excluded.started_at,
                     written_at = excluded.written_at""",
                (state.asof.isoformat(), state.grid_start.isoformat(), state.fingerprint, state.started_at,
                 self._db.now_text()))

    def clear(self) -> None:
        with self._db.transaction():
            self._db.execute("DELETE FROM compute_state_arrays")
            self._db.execute("DELETE FROM compute_state")
