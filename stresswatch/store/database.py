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
write commits on its own. `transaction(durable=True)` also syncs the commit to disk (a power cut
cannot undo it), for records that must survive whatever follows (mail handed to SMTP).

SQL function: every connection has `sha256(x)` (the raw 32-byte digest of a text, as UTF-8, or
of a blob), so a migration can key rows on a hash the gateways compute with hashlib.

Migrations run with foreign keys off and `PRAGMA foreign_key_check` before their commit (SQLite's
procedure for rebuilding a table that other tables reference): a table can be rebuilt, and a
migration that would leave a dangling reference is rolled back.

Opening (`Database.open`): a store that does not exist is created only when `create` is set, and
only in an existing folder (or with `create_folder`); it is built under a temporary name and
linked into place complete, so no process ever sees a half-made store, and an empty (0-byte) file
is never taken for a new store. A file that is not SQLite or whose header does not match its size
is checked (`PRAGMA quick_check`) before anything is read. A store whose file or folder cannot be
written is opened read-only: reads work, and every write raises StoreReadOnly saying why.

Failures: every sqlite3 error becomes a typed StoreError with one line naming the file (`_typed`):
StoreFull (disk full), StoreIOError, StoreCorrupt (damaged pages, not a database), StoreReadOnly,
StoreError (locked beyond the busy timeout, anything else). Before the first write of a connection
(and again after VERIFY_EVERY seconds, for the daemon) the store runs `PRAGMA quick_check`; a
damaged store refuses every write from then on, so damage is never built upon.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import secrets
import sqlite3
import time
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from stresswatch.clock import Clock, system_clock, utc_stamp
from stresswatch.errors import StoreCorrupt, StoreError, StoreFull, StoreIOError, StoreNotFound, StoreReadOnly

#: the package whose *.sql files are the migrations, applied in name order
MIGRATIONS = "stresswatch.store.migrations"

Args = Sequence[Any]

#: seconds after which a long-lived connection (the daemon) checks the store again before writing
VERIFY_EVERY = 6 * 3600.0
#: the first 16 bytes of every SQLite database file
SQLITE_MAGIC = b"SQLite format 3\x00"
#: the `read_only` reason of a store opened with `open_readonly` (the notebook API)
OPENED_READ_ONLY = "opened read-only"
#: what a damaged store tells the user to do
RECOVER_HINT = "restore it from a backup (or salvage it with `sqlite3 FILE .recover`); stresswatch will not write to it"


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
    """One sqlite3 connection (autocommit mode; writes go through `transaction()`).

    `read_only` is None for a writable store, else why it cannot be written."""

    def __init__(self, conn: sqlite3.Connection, path: Path, clock: Clock = system_clock,
                 read_only: str | None = None):
        self._conn = conn
        self.path = path
        self.clock = clock
        self.read_only = read_only
        self._in_tx = False
        self._verified_at: float | None = None  # monotonic time of the last clean quick_check
        self._damage: str | None = None  # what quick_check found; every write is refused

    @classmethod
    def open_readonly(cls, path: str | Path, busy_timeout: float = 30.0, clock: Clock = system_clock) -> "Database":
        """Open an existing database for reading only (SQLite `mode=ro`, `query_only`): nothing is
        created, migrated or written, so the file's bytes and modification time stay as they are; a
        writer (the daemon) may keep working beside it. StoreNotFound when there is no database at
        `path`; every write raises StoreReadOnly."""
        path = Path(path).expanduser()
        if not path.is_file():
            raise StoreNotFound(f"there is no store at {path}")
        _check_header(path)
        return cls._connected(path, busy_timeout, clock, OPENED_READ_ONLY, None)

    @classmethod
    def open(cls, path: str | Path, busy_timeout: float = 30.0, clock: Clock = system_clock, *,
             create: bool = True, create_folder: bool = False) -> "Database":
        """Open the store at `path`. A missing store is created only when `create` is set, in an
        existing folder (or any, with `create_folder`); else StoreNotFound (exit 2) naming the path."""
        path = Path(path).expanduser()
        if path.is_dir():
            raise StoreNotFound(f"{path} is a folder; the store setting names the database file (e.g. {path}/"
                                "stresswatch.db)")
        if not path.exists():
            _create(path, busy_timeout, clock, create, create_folder)
        read_only = _read_only_reason(path)
        suspicious = _check_header(path)
        return cls._connected(path, busy_timeout, clock, read_only, suspicious)

    @classmethod
    def _connected(cls, path: Path, busy_timeout: float, clock: Clock, read_only: str | None,
                   suspicious: str | None) -> "Database":
        """Connect and configure (closing the connection on any failure); a `suspicious` header
        is checked with `verify` before the store is handed out."""
        try:
            conn = _connect(path, busy_timeout, read_only)
        except sqlite3.Error as exc:
            raise _typed(exc, path, "opening") from None
        db = cls(conn, path, clock, read_only)
        try:
            db._configure(busy_timeout)
            if suspicious:
                db.verify(reason=suspicious)
        except BaseException:
            db.close()
            raise
        return db

    def _configure(self, busy_timeout: float) -> None:
        try:
            if self.read_only is None:
                _set_wal(self._conn, busy_timeout)
                self._conn.execute("PRAGMA synchronous=NORMAL")
            else:
                self._conn.execute("PRAGMA query_only=ON")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._conn.create_function("sha256", 1, _sha256, deterministic=True)
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            self._conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # reads page 1: the schema
        except sqlite3.Error as exc:
            raise _typed(exc, self.path, "opening") from None

    def now_text(self) -> str:
        """The clock's current time as stored in `*_at` columns (`YYYY-MM-DDTHH:MM:SSZ`)."""
        return utc_stamp(self.clock())

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    # -- integrity ----------------------------------------------------------------------------
    def verify(self, reason: str = "") -> None:
        """`PRAGMA quick_check`; StoreCorrupt (and every later write refused) when it finds damage."""
        try:
            rows = self._conn.execute("PRAGMA quick_check(5)").fetchall()
        except sqlite3.Error as exc:
            rows = [(str(exc),)]
        found = [line.strip() for r in rows for line in str(r[0]).splitlines()
                 if line.strip() and not line.startswith("***")]
        if found != ["ok"]:
            self._damage = "; ".join(found) or "no answer"
            raise StoreCorrupt(self._damage_text())
        self._verified_at = time.monotonic()

    def _damage_text(self) -> str:
        problems = (self._damage or "").split("; ")
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        return f"the store {self.path} is damaged (quick_check: {problems[0][:160]}{more}); {RECOVER_HINT}"

    def _before_write(self) -> None:
        if self.read_only == OPENED_READ_ONLY:
            raise StoreReadOnly(f"the store {self.path} was opened read-only; open it for writing to change it")
        if self.read_only is not None:
            raise StoreReadOnly(f"the store {self.path} is read-only ({self.read_only}); this command writes to it: "
                                "run it as a user who may write the file and its folder")
        if self._damage is not None:
            raise StoreCorrupt(self._damage_text())
        if self._verified_at is None or time.monotonic() - self._verified_at > VERIFY_EVERY:
            self.verify()

    # -- transactions -------------------------------------------------------------------------
    @property
    def in_transaction(self) -> bool:
        return self._in_tx or self._conn.in_transaction

    @contextlib.contextmanager
    def transaction(self, durable: bool = False) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error). Nested calls join the outer transaction.
        `durable`: the commit is synced to disk (synchronous=FULL) before this returns."""
        if self._in_tx:
            yield
            return
        self._before_write()
        if durable:
            self._pragma("PRAGMA synchronous=FULL")
        try:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise _typed(exc, self.path, "starting a write transaction on") from None
            self._in_tx = True
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise _typed(exc, self.path, "committing to") from None
            finally:
                self._in_tx = False
        finally:
            self._in_tx = False
            if durable:
                self._pragma("PRAGMA synchronous=NORMAL")

    def _rollback(self) -> None:
        # SQLite may already have rolled back on its own (disk full, I/O error): nothing to undo then
        if self._conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def _pragma(self, sql: str) -> None:
        try:
            self._conn.execute(sql)
        except sqlite3.Error as exc:
            raise _typed(exc, self.path, "configuring") from None

    @contextlib.contextmanager
    def savepoint(self, name: str) -> Iterator[None]:
        """A SAVEPOINT inside the open transaction: on error only this block is undone (then the
        error propagates to the caller, who decides about the outer transaction)."""
        self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    self._conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        self.execute(f"RELEASE SAVEPOINT {name}")

    # -- statements ---------------------------------------------------------------------------
    def execute(self, sql: str, args: Args = ()) -> sqlite3.Cursor:
        """Run one statement (writes belong inside `transaction()`)."""
        try:
            return self._conn.execute(sql, args)
        except sqlite3.Error as exc:
            raise _typed(exc, self.path, "writing to" if self._in_tx else "reading") from None

    def executemany(self, sql: str, rows: Iterable[Args]) -> sqlite3.Cursor:
        try:
            return self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _typed(exc, self.path, "writing to") from None

    def query(self, sql: str, args: Args = ()) -> list[sqlite3.Row]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise _typed(exc, self.path, "reading") from None

    def query_one(self, sql: str, args: Args = ()) -> sqlite3.Row | None:
        try:
            row: sqlite3.Row | None = self._conn.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            raise _typed(exc, self.path, "reading") from None
        return row

    # -- schema -------------------------------------------------------------------------------
    def pending_migrations(self) -> list[str]:
        """Migration files not yet recorded in `schema_migrations`, in name order."""
        has_table = self.query_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        done = {r[0] for r in self.query("SELECT name FROM schema_migrations")} if has_table else set()
        return [f.name for f in _migration_files() if f.name not in done]

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction. Whether a migration
        is recorded is checked inside that transaction, so two processes opening a new store at
        the same time apply each migration once. A read-only store that needs one: StoreReadOnly."""
        pending = self.pending_migrations()
        if not pending:
            return []
        if self.read_only is not None:
            raise StoreReadOnly(f"the store {self.path} is read-only ({self.read_only}) and needs {len(pending)} schema "
                                "upgrade(s) before this version can read it: run one writing command with write access")
        applied = []
        for f in _migration_files():
            if f.name not in pending:
                continue
            sql = f.read_text(encoding="utf-8")
            self._pragma("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before BEGIN
            try:
                with self.transaction():
                    self.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                                 "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
                    if self.query_one("SELECT 1 FROM schema_migrations WHERE name = ?", (f.name,)):
                        continue  # another connection applied it meanwhile
                    try:
                        # executescript would COMMIT first; run statements one by one instead
                        for statement in _split_sql(sql):
                            self._conn.execute(statement)
                        dangling = self._conn.execute("PRAGMA foreign_key_check").fetchall()
                        if dangling:
                            raise sqlite3.IntegrityError(f"{len(dangling)} row(s) of {dangling[0][0]} would reference "
                                                         f"missing rows of {dangling[0][2]}")
                        self._conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (f.name, self.now_text()))
                    except sqlite3.Error as exc:
                        typed = _typed(exc, self.path, f"applying migration {f.name} to")
                        raise type(typed)(f"migration {f.name} failed on {self.path}: {typed}") from None
            finally:
                self._pragma("PRAGMA foreign_keys=ON")
            applied.append(f.name)
        return applied

    def integrity_check(self) -> str:
        return str(self.query_one("PRAGMA integrity_check")[0])  # type: ignore[index]


# ---------------------------------------------------------------------------------------------
# Opening and creating
# ---------------------------------------------------------------------------------------------
def _migration_files() -> list[Any]:
    return sorted((f for f in resources.files(MIGRATIONS).iterdir() if f.name.endswith(".sql")),
                  key=lambda f: f.name)


def _create(path: Path, busy_timeout: float, clock: Clock, create: bool, create_folder: bool) -> None:
    """Make a new, fully migrated store at `path`: built under a temporary name in the same folder,
    then hard-linked into place (an existing file is never replaced: when another process made the
    store first, theirs is used)."""
    folder = path.parent
    if not create:
        where = "" if folder.is_dir() else f" (the folder {folder} does not exist either)"
        raise StoreNotFound(f"no store at {path}{where}: check --store / [store] path; only commands that bring "
                            "data in (fetch, backfill, run, daemon) create a store")
    if not folder.is_dir():
        if not create_folder:
            raise StoreNotFound(f"the folder {folder} does not exist, so no store is created at {path}: check "
                                "--store / [store] path, or create the folder first")
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder {folder} for the store: {exc.strerror or exc}") from None
    tmp = folder / f".{path.name}.new-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        try:
            conn = sqlite3.connect(str(tmp), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise _typed(exc, path, "creating") from None
        db = Database(conn, tmp, clock)
        try:
            db._configure(busy_timeout)
            db._verified_at = time.monotonic()  # new and empty: nothing to check
            db.migrate()
        except StoreError as exc:
            raise type(exc)(str(exc).replace(str(tmp), str(path))) from None
        finally:
            db.close()  # the last connection: checkpoints the WAL into the file and removes it
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created the store meanwhile: use theirs
        except OSError:
            if not path.exists():  # a file system without hard links: a rename, after checking
                os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot create the store {path}: {exc.strerror or exc}") from None
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            with contextlib.suppress(OSError):
                leftover.unlink()


def _read_only_reason(path: Path) -> str | None:
    """Why the store cannot be written (WAL needs the file and its folder writable), or None."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "it is on a read-only file system"
    except OSError:
        pass
    if not os.access(path, os.W_OK):
        return f"no write permission on {path}"
    if not os.access(path.parent, os.W_OK):
        return f"no write permission on its folder {path.parent}"
    return None


def _check_header(path: Path) -> str:
    """Cheap checks of the file header: StoreCorrupt for a file that is empty or not SQLite; a
    reason to run quick_check ("" when none) when the header does not match the file size."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read the store {path}: {exc.strerror or exc}") from None
    wal = path.with_name(path.name + "-wal")
    if size == 0:
        if wal.exists() and wal.stat().st_size > 0:
            return "the database file is empty but its write-ahead log is not"
        raise StoreCorrupt(f"{path} is an empty file (0 bytes), not a stresswatch store: if it held your data, "
                           "restore it from a backup; else delete it and run a command that writes to start a new store")
    if not head.startswith(SQLITE_MAGIC) or len(head) < 100:
        raise StoreCorrupt(f"{path} is not a stresswatch store (not an SQLite database file)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"invalid page size {page_size} in the header"
    if size % page_size:
        return f"file size {size} is not a whole number of {page_size}-byte pages"
    pages, change, valid_for = (int.from_bytes(head[a:a + 4], "big") for a in (28, 24, 92))
    if change == valid_for and pages and pages * page_size != size and not wal.exists():
        return f"the header counts {pages} pages, the file holds {size // page_size}"
    return ""


def _connect(path: Path, busy_timeout: float, read_only: str | None) -> sqlite3.Connection:
    if read_only is None:
        conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    else:
        # read-only WAL: the -shm file must exist or be creatable; in a read-only folder without a
        # write-ahead log (the last writer closed cleanly) everything is in the file: immutable
        uri = path.resolve().as_uri() + "?mode=ro"
        folder_ro = not os.access(path.parent, os.W_OK)
        if folder_ro and not path.with_name(path.name + "-wal").exists():
            uri += "&immutable=1"
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    return conn


def _typed(exc: sqlite3.Error, path: Path, doing: str) -> StoreError:
    """One line for a sqlite3 error, as the StoreError subclass that says what happened. `doing`
    completes "while ... <path>" ("reading", "writing to", "starting a write transaction on")."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = f"while {doing} {path}"
    if name.startswith("SQLITE_FULL"):
        return StoreFull(f"disk full {where}: nothing of this write was saved; free space and run the command again")
    if name.startswith("SQLITE_IOERR"):
        lost = "; nothing of this write was saved" if doing not in ("opening", "reading") else ""
        return StoreIOError(f"I/O error {where} ({name}: the disk may be full, over a file-size limit or "
                            f"failing){lost}")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return StoreCorrupt(f"the store is damaged ({exc}) {where}; {RECOVER_HINT}")
    if name.startswith("SQLITE_READONLY"):
        return StoreReadOnly(f"the store cannot be written ({exc}) {where}: run the command as a user who may write "
                             "the file and its folder")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(f"another process kept the store locked beyond [store] busy_timeout ({exc}) {where}")
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreError(f"cannot open the store ({exc}) {where}: check that the file and its folder exist and "
                          "are accessible")
    return StoreError(f"{exc} {where}")


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


def _sha256(value: str | bytes | None) -> bytes | None:
    """The SQL function `sha256`: raw digest of a text (UTF-8) or blob; NULL stays NULL."""
    if value is None:
        return None
    return hashlib.sha256(value.encode("utf-8") if isinstance(value, str) else bytes(value)).digest()


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside string literals or triggers)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
