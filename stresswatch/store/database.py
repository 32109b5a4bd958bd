"""The SQLite connection every gateway shares: opening (WAL, pragmas, busy timeout), the write
transaction, savepoints, migrations and small execute/query helpers.

Owns no table of its own except `schema_migrations` (which migration files were applied).
Gateways receive one `Database` and never see the connection's life cycle; nothing outside
`stresswatch.store` touches it.

Time: the database carries the injected clock (`stresswatch.clock`); `now_text()` is the stamp
gateways write into their `*_at` columns, so a fixed clock gives fixed stamps.

Transactions: `transaction()` is `BEGIN IMMEDIATE ... COMMIT` (ROLLBACK on error). Nested calls
join the outer transaction, so a gateway write called inside `Store.transaction()` commits (or
rolls back) together with everything else written there. Outside a transaction each gateway
write commits on its own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
import time
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from stresswatch.clock import Clock, system_clock, utc_stamp
from stresswatch.errors import StoreError

#: the package whose *.sql files are the migrations, applied in name order
MIGRATIONS = "stresswatch.store.migrations"

Args = Sequence[Any]


def iso(value: dt.date | dt.datetime | str | None) -> str | None:
    """Dates as YYYY-MM-DD, datetimes as UTC YYYY-MM-DDTHH:MM:SSZ, text unchanged."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        return utc_stamp(value)
    return value.isoformat()


def as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


class Database:
    """One sqlite3 connection (autocommit mode; writes go through `transaction()`)."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = system_clock, readonly: bool = False):
        self._conn = conn
        self.path = path
        self.clock = clock
        #: opened read-only (`open_readonly`): every write transaction is refused
        self.readonly = readonly
        self._in_tx = False

    @classmethod
    def open_readonly(cls, path: str | Path, busy_timeout: float = 30.0, clock: Clock = system_clock) -> "Database":
        """Open an existing database for reading only (SQLite `mode=ro`): nothing is created,
        migrated or written, so the file's bytes and modification time stay as they are; a writer
        (the daemon) may keep working beside it. StoreError when there is no database at `path`."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise StoreError(f"there is no store at {path}")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=busy_timeout,
                                   isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from None
        return cls(conn, path, clock, readonly=True)

    def pending_migrations(self) -> list[str]:
        """Migrations not yet applied to this database (all of them for a database that is not a
        stresswatch store)."""
        files = sorted(f.name for f in resources.files(MIGRATIONS).iterdir() if f.name.endswith(".sql"))
        try:
            done = {r[0] for r in self._conn.execute("SELECT name FROM schema_migrations")}
        except sqlite3.OperationalError:
            return files
        return [f for f in files if f not in done]

    @classmethod
    def open(cls, path: str | Path, busy_timeout: float = 30.0, clock: Clock = system_clock) -> "Database":
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        try:
            _set_wal(conn, busy_timeout)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from None
        return cls(conn, path, clock)

    def now_text(self) -> str:
        """The clock's current time as stored in `*_at` columns (`YYYY-MM-DDTHH:MM:SSZ`)."""
        return utc_stamp(self.clock())

    def close(self) -> None:
        self._conn.close()

    # -- transactions -------------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._in_tx or self._conn.in_transaction

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error). Nested calls join the outer transaction."""
        if self._in_tx:
            yield
            return
        if self.readonly:
            raise StoreError(f"the store at {self.path} was opened read-only; open it for writing to change it")
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot start a write transaction on {self.path}: {exc}") from None
        self._in_tx = True
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")
        finally:
            self._in_tx = False

    @contextlib.contextmanager
    def savepoint(self, name: str) -> Iterator[None]:
        """A SAVEPOINT inside the open transaction: on error only this block is undone (then the
        error propagates to the caller, who decides about the outer transaction)."""
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self._conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self._conn.execute(f"RELEASE SAVEPOINT {name}")

    # -- statements ---------------------------------------------------------------------------
    def execute(self, sql: str, args: Args = ()) -> sqlite3.Cursor:
        """Run one statement (writes belong inside `transaction()`)."""
        return self._conn.execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Args]) -> sqlite3.Cursor:
        return self._conn.executemany(sql, rows)

    def query(self, sql: str, args: Args = ()) -> list[sqlite3.Row]:
        return self._conn.execute(sql, args).fetchall()

    def query_one(self, sql: str, args: Args = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._conn.execute(sql, args).fetchone()
        return row

    # -- schema -------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction. Whether a migration
        is recorded is checked inside that transaction, so two processes opening a new store at
        the same time apply each migration once."""
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in self._conn.execute("SELECT name FROM schema_migrations")}
        files = sorted((f for f in resources.files(MIGRATIONS).iterdir() if f.name.endswith(".sql")),
                       key=lambda f: f.name)
        applied = []
        for f in files:
            if f.name in done:
                continue
            sql = f.read_text(encoding="utf-8")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                if self._conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (f.name,)).fetchone():
                    self._conn.execute("COMMIT")  # another connection applied it meanwhile
                    continue
                # executescript would COMMIT first; run statements one by one instead
                for statement in _split_sql(sql):
                    self._conn.execute(statement)
                self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (f.name, self.now_text()))
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._conn.execute("ROLLBACK")
                raise StoreError(f"migration {f.name} failed on {self.path}: {exc}") from None
            applied.append(f.name)
        return applied

    def integrity_check(self) -> str:
        return str(self._conn.execute("PRAGMA integrity_check").fetchone()[0])


def _set_wal(conn: sqlite3.Connection, busy_timeout: float) -> None:
    """Switch to WAL. On a new file another connection may be switching it at the same moment;
    SQLite then answers "database is locked" at once instead of waiting, so wait here (up to the
    busy timeout) rather than fail the open."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside string literals or triggers)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
