"""Read-only SQL checks for the store's own tests, where no gateway API makes sense (the schema,
the pragmas, what exactly the archive holds on disk).

Only tests under tests/store/ use this; everything else goes through the gateways. `peek` opens
its own read-only connection on the store's file (mode=ro), so it cannot write and sees only
committed data.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from stresswatch.store import Store


def peek(store: Store, sql: str, *args: Any) -> list[sqlite3.Row]:
    """Rows of one SELECT / PRAGMA run on a read-only connection to `store`'s file."""
    return peek_file(store.path, sql, *args)


def peek_file(path: Path, sql: str, *args: Any) -> list[sqlite3.Row]:
    """Rows of one SELECT / PRAGMA run on a read-only connection to the database file at `path`."""
    if not sql.lstrip().upper().startswith(("SELECT", "PRAGMA")):
        raise ValueError("peek runs read-only SELECT / PRAGMA statements only")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def in_transaction(store: Store) -> bool:
    """Whether the store's own connection has a transaction open (reaches into the store on
    purpose: only a test asking "was everything rolled back?" needs this)."""
    return store._db.in_transaction
