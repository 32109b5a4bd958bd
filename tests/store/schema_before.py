"""A store as an earlier version made it: the migrations named before a given one applied with
plain sqlite3 and recorded, so a test can fill it with rows in the old layout and then let
`Store.open` upgrade it."""

from __future__ import annotations

import sqlite3
from importlib import resources
from pathlib import Path


def store_before(path: Path, migration: str) -> sqlite3.Connection:
    """A new database at `path` with every migration whose name sorts before `migration` applied
    (foreign keys on, as the store runs); the open connection, for writing old-layout rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for f in sorted(resources.files("stresswatch.store.migrations").iterdir(), key=lambda f: f.name):
        if f.name.endswith(".sql") and f.name < migration:
            conn.executescript(f.read_text())
            conn.execute("INSERT INTO schema_migrations VALUES (?, '2026-01-01T00:00:00Z')", (f.name,))
    return conn
