"""The daemon's own state (table `daemon_state`, migration 0004): key -> JSON value, such as the
last and next run and the running daemon's pid, for `stresswatch status`."""

from __future__ import annotations

import json
from typing import Any

from stresswatch.store.database import Database


class DaemonState:
    """Key/value state of the daemon."""

    def __init__(self, db: Database):
        self._db = db

    def get(self) -> dict[str, Any]:
        """Every key with its decoded value."""
        return {r["key"]: json.loads(r["value"]) for r in self._db.query("SELECT key, value FROM daemon_state")}

    def put(self, key: str, value: Any, updated_at: str) -> None:
        """Store `value` (anything JSON can hold; other objects as their str) under `key`."""
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, json.dumps(value, default=str), updated_at))
