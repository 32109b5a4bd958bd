"""The SQLite store: connection setup (WAL), migrations, series and observations with vintages,
the raw payload archive and the run ledger.

Other concerns keep their own tables in their own migration files (`migrations/NNNN_*.sql`,
applied in name order) and their SQL in their own modules, using `Store.conn` and
`Store.transaction()`.

Vintages follow the ALFRED model: an observation row is (series, date, known_at, value). A value
fetched after the fact becomes known at `date + publication lag` (or the fetch date, if earlier);
a changed value for an existing date adds a new vintage known from the fetch date; an unchanged
re-fetch writes nothing. `read_series(..., asof=D)` returns, per date, the latest vintage known by D.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import math
import sqlite3
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import pandas as pd

from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Observation, Request, SeriesInfo
from stresswatch.redaction import SECRET_PARAMS, redact



def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _iso(value: dt.date | dt.datetime | str | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="seconds") + "Z"
    return value.isoformat()


def _as_date(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def request_to_json(request: Request) -> str:
    params = [(k, "REDACTED" if k.lower() in SECRET_PARAMS else v) for k, v in request.params]
    headers = [(k, v) for k, v in request.headers if k.lower() not in ("authorization", "ocp-apim-subscription-key")]
    return json.dumps({
        "method": request.method, "url": request.url, "params": params, "headers": headers,
        "body": request.body.decode("utf-8", "replace") if request.body else None,
        "label": request.label, "context": [[k, v] for k, v in request.context],
    }, sort_keys=True, default=str)


def request_from_json(text: str) -> Request:
    data = json.loads(text)
    return Request(
        method=data["method"], url=data["url"], params=tuple(tuple(p) for p in data["params"]),
        headers=tuple(tuple(h) for h in data["headers"]),
        body=data["body"].encode("utf-8") if data.get("body") is not None else None,
        label=data.get("label", ""), context=tuple(tuple(c) for c in data.get("context", [])),
    )


@dataclass(frozen=True)
class Payload:
    id: int
    source: str
    url: str
    request: Request
    status: int
    content_type: str
    sha256: str
    body: bytes
    fetched_at: dt.datetime
    parser_version: str
    job: str
    partition: str


class Store:
    """One SQLite database. Open with `Store.open(path)`; use as a context manager to close."""

    def __init__(self, conn: sqlite3.Connection, path: Path):
        self.conn = conn
        self.path = path
        self._in_tx = False

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, busy_timeout: float = 30.0) -> "Store":
        path = Path(path).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the store at {path}: {exc}") from None
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from None
        store = cls(conn, path)
        store.migrate()
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error). Nested calls join the outer transaction."""
        if self._in_tx:
            yield self.conn
            return
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot start a write transaction on {self.path}: {exc}") from None
        self._in_tx = True
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")
        finally:
            self._in_tx = False

    def migrate(self) -> list[str]:
        """Apply every migration not yet recorded, each in its own transaction."""
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
        done = {r[0] for r in self.conn.execute("SELECT name FROM schema_migrations")}
        files = sorted(
            (f for f in resources.files("stresswatch.migrations").iterdir() if f.name.endswith(".sql")),
            key=lambda f: f.name)
        applied = []
        for f in files:
            if f.name in done:
                continue
            sql = f.read_text(encoding="utf-8")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                # executescript would COMMIT first; run statements one by one instead
                for statement in _split_sql(sql):
                    self.conn.execute(statement)
                self.conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (f.name, _iso(utcnow())))
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self.conn.execute("ROLLBACK")
                raise StoreError(f"migration {f.name} failed on {self.path}: {exc}") from None
            applied.append(f.name)
        return applied

    # -- series & observations ------------------------------------------------------------
    def upsert_series(self, infos: Iterable[SeriesInfo]) -> None:
        now = _iso(utcnow())
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO series (id, source, name, unit, frequency, publication_lag_days, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET source=excluded.source, name=excluded.name,
                     unit=excluded.unit, frequency=excluded.frequency,
                     publication_lag_days=excluded.publication_lag_days, updated_at=excluded.updated_at
                   WHERE series.name IS NOT excluded.name OR series.unit IS NOT excluded.unit
                     OR series.frequency IS NOT excluded.frequency OR series.source IS NOT excluded.source
                     OR series.publication_lag_days IS NOT excluded.publication_lag_days""",
                [(i.id, i.source, i.name, i.unit, i.frequency, i.publication_lag_days, now) for i in infos])

    def _lags(self) -> dict[str, int]:
        return {r["id"]: r["publication_lag_days"] for r in self.conn.execute(
            "SELECT id, publication_lag_days FROM series")}

    def _latest_vintages(self, series_id: str, first: str, last: str) -> dict[str, tuple[float, str]]:
        rows = self.conn.execute(
            """SELECT date, value, MAX(known_at) AS known_at FROM observations
               WHERE series_id = ? AND date BETWEEN ? AND ? GROUP BY date""", (series_id, first, last))
        return {r["date"]: (r["value"], r["known_at"]) for r in rows}

    def write_observations(self, observations: Iterable[Observation], *, fetched_at: dt.datetime,
                           payload_id: int | None = None) -> int:
        """Store observations as vintages; return how many rows were added or revised.

        The series must exist (`upsert_series`). Unchanged values write nothing. Runs inside the
        caller's transaction when there is one, else in its own.
        """
        fetch_date = _as_date(fetched_at)
        fetched = _iso(fetched_at)
        by_series: dict[str, dict[str, float]] = {}
        for obs in observations:
            if obs.value is None or (isinstance(obs.value, float) and math.isnan(obs.value)):
                continue
            by_series.setdefault(obs.series_id, {})[_iso(obs.date)] = float(obs.value)
        if not by_series:
            return 0
        lags = self._lags()
        written = 0
        with self.transaction() as conn:
            for series_id, values in by_series.items():
                if series_id not in lags:
                    raise StoreError(f"series {series_id} is not registered; call upsert_series first")
                lag = dt.timedelta(days=lags[series_id])
                latest = self._latest_vintages(series_id, min(values), max(values))
                rows = []
                for date_text, value in values.items():
                    previous = latest.get(date_text)
                    if previous is None:
                        known = min(fetch_date, dt.date.fromisoformat(date_text) + lag)
                    elif _same(previous[0], value):
                        continue
                    else:  # a revision: known from the fetch date, never before the old vintage
                        known = max(fetch_date, dt.date.fromisoformat(previous[1]))
                    rows.append((series_id, date_text, known.isoformat(), value, fetched, payload_id))
                conn.executemany(
                    """INSERT INTO observations (series_id, date, known_at, value, fetched_at, payload_id)
                       VALUES (?, ?, ?, ?, ?, ?)
                       ON CONFLICT(series_id, date, known_at) DO UPDATE SET value = excluded.value,
                         fetched_at = excluded.fetched_at, payload_id = excluded.payload_id
                       WHERE observations.value IS NOT excluded.value""", rows)
                written += len(rows)
        return written

    def write_derived(self, info: SeriesInfo, values: pd.Series, known_at: pd.Series | None = None,
                      asof: dt.date | None = None) -> int:
        """Store a computed series (stress.index, ...). Each new date becomes known at `known_at`
        (default: its own date, i.e. point-in-time values); a changed value for a stored date adds a
        vintage known from `asof` (default: the latest date in `values`). NaN values are skipped."""
        self.upsert_series([info])
        values = values.dropna()
        if values.empty:
            return 0
        dates = [_as_date(d) for d in values.index]
        if known_at is None:
            knowns = dates
        else:
            knowns = [_as_date(k) for k in known_at.reindex(values.index)]
        revision_day = asof or max(dates)
        latest = self._latest_vintages(info.id, min(dates).isoformat(), max(dates).isoformat())
        rows = []
        for date, known, value in zip(dates, knowns, values.to_numpy(dtype=float)):
            previous = latest.get(date.isoformat())
            if previous is None:
                k = known
            elif _same(previous[0], float(value)):
                continue
            else:
                k = max(revision_day, dt.date.fromisoformat(previous[1]))
            rows.append((info.id, date.isoformat(), k.isoformat(), float(value), _iso(utcnow()), None))
        with self.transaction() as conn:
            conn.executemany(
                """INSERT INTO observations (series_id, date, known_at, value, fetched_at, payload_id)
                   VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT(series_id, date, known_at) DO UPDATE SET value = excluded.value,
                     fetched_at = excluded.fetched_at
                   WHERE observations.value IS NOT excluded.value""", rows)
        return len(rows)

    def read_series(self, series_id: str, start: dt.date | str | None = None, end: dt.date | str | None = None,
                    asof: dt.date | str | None = None) -> pd.Series:
        """Values per date (latest vintage known by `asof`; all vintages when asof is None)."""
        frame = self.read_vintaged(series_id, asof=asof, start=start, end=end)
        out = pd.Series(frame["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(frame["date"], name="date"),
                        name=series_id)
        return out

    def read_vintaged(self, series_id: str, asof: dt.date | str | None = None,
                      start: dt.date | str | None = None, end: dt.date | str | None = None) -> pd.DataFrame:
        """DataFrame[date, value, known_at] with, per date, the latest vintage known by `asof`."""
        sql = ["SELECT date, value, MAX(known_at) AS known_at FROM observations WHERE series_id = ?"]
        args: list[Any] = [series_id]
        if asof is not None:
            sql.append("AND known_at <= ?")
            args.append(_iso(_as_date(asof)))
        if start is not None:
            sql.append("AND date >= ?")
            args.append(_iso(_as_date(start)))
        if end is not None:
            sql.append("AND date <= ?")
            args.append(_iso(_as_date(end)))
        sql.append("GROUP BY date ORDER BY date")
        rows = self.conn.execute(" ".join(sql), args).fetchall()
        return pd.DataFrame({
            "date": pd.to_datetime([r["date"] for r in rows]),
            "value": pd.Series([r["value"] for r in rows], dtype=float),
            "known_at": pd.to_datetime([r["known_at"] for r in rows]),
        })

    def all_vintages(self, series_id: str) -> pd.DataFrame:
        """Every vintage: DataFrame[date, known_at, value] ordered by date, then known_at (for
        callers that answer many as-of questions from one read, such as a range of reports)."""
        rows = self.conn.execute(
            "SELECT date, known_at, value FROM observations WHERE series_id = ? ORDER BY date, known_at",
            (series_id,)).fetchall()
        return pd.DataFrame({
            "date": pd.to_datetime([r["date"] for r in rows]),
            "known_at": pd.to_datetime([r["known_at"] for r in rows]),
            "value": pd.Series([r["value"] for r in rows], dtype=float),
        })

    def first_date(self, series_id: str, asof: dt.date | str | None = None) -> dt.date | None:
        """The oldest observation date of a series (among values known by `asof`)."""
        sql, args = "SELECT MIN(date) AS first FROM observations WHERE series_id = ?", [series_id]
        if asof is not None:
            sql += " AND known_at <= ?"
            args.append(_iso(_as_date(asof)))
        row = self.conn.execute(sql, args).fetchone()
        return dt.date.fromisoformat(row["first"]) if row and row["first"] else None

    def last_observation_date(self, source: str, asof: dt.date) -> dt.date | None:
        """The newest observation date of any series of `source` known by `asof` (and dated by it)."""
        row = self.conn.execute(
            """SELECT MAX(o.date) AS last FROM observations o JOIN series s ON s.id = o.series_id
               WHERE s.source = ? AND o.known_at <= ? AND o.date <= ?""",
            (source, _iso(asof), _iso(asof))).fetchone()
        return dt.date.fromisoformat(row["last"]) if row and row["last"] else None

    def list_series(self, source: str | None = None) -> list[dict[str, Any]]:
        sql = """SELECT s.id, s.source, s.name, s.unit, s.frequency, s.publication_lag_days,
                        MIN(o.date) AS first, MAX(o.date) AS last, COUNT(DISTINCT o.date) AS count,
                        MAX(o.fetched_at) AS last_fetched
                 FROM series s LEFT JOIN observations o ON o.series_id = s.id"""
        args: list[Any] = []
        if source:
            sql += " WHERE s.source = ?"
            args.append(source)
        sql += " GROUP BY s.id ORDER BY s.id"
        return [dict(r) for r in self.conn.execute(sql, args)]

    def series_info(self, series_id: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM series WHERE id = ?", (series_id,)).fetchone()
        return dict(row) if row else None

    def delete_observations(self, source: str) -> int:
        with self.transaction() as conn:
            cur = conn.execute(
                "DELETE FROM observations WHERE series_id IN (SELECT id FROM series WHERE source = ?)", (source,))
            return cur.rowcount

    # -- raw payloads -----------------------------------------------------------------------
    def save_payload(self, *, source: str, request: Request, status: int, content_type: str, body: bytes,
                     fetched_at: dt.datetime, parser_version: str, job: str = "", partition: str = "") -> int:
        """Archive a response body (compressed) before it is parsed; returns its id.
        An identical body for the same request is stored once."""
        digest = hashlib.sha256(body).hexdigest()
        request_json = request_to_json(request)
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT id FROM raw_payloads WHERE source = ? AND sha256 = ? AND request_json = ?",
                (source, digest, request_json)).fetchone()
            if row:
                return int(row["id"])
            cur = conn.execute(
                """INSERT INTO raw_payloads (source, url, request_json, status, content_type, sha256, size, body,
                                             fetched_at, parser_version, job, partition)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (source, redact(request.display()), request_json, status, content_type or "", digest, len(body),
                 zlib.compress(body, 6), _iso(fetched_at), parser_version, job, partition))
            return int(cur.lastrowid)

    def iter_payloads(self, source: str | None = None) -> Iterator[Payload]:
        sql = "SELECT * FROM raw_payloads"
        args: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            args.append(source)
        sql += " ORDER BY fetched_at, id"
        for r in self.conn.execute(sql, args).fetchall():
            yield Payload(
                id=r["id"], source=r["source"], url=r["url"], request=request_from_json(r["request_json"]),
                status=r["status"], content_type=r["content_type"], sha256=r["sha256"],
                body=zlib.decompress(r["body"]),
                fetched_at=dt.datetime.fromisoformat(r["fetched_at"].rstrip("Z")).replace(tzinfo=dt.timezone.utc),
                parser_version=r["parser_version"], job=r["job"], partition=r["partition"])

    # -- run ledger ---------------------------------------------------------------------------
    def ledger_get(self, job: str, partition: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM runs WHERE job = ? AND partition = ?", (job, partition)).fetchone()
        return dict(row) if row else None

    def ledger_rows(self, job_prefix: str | None = None) -> list[dict[str, Any]]:
        if job_prefix:
            rows = self.conn.execute("SELECT * FROM runs WHERE job LIKE ? ORDER BY job, partition",
                                     (job_prefix.replace("%", r"\%") + "%",))
        else:
            rows = self.conn.execute("SELECT * FROM runs ORDER BY job, partition")
        return [dict(r) for r in rows]

    def ledger_start(self, job: str, partition: str, window_start: dt.date | None = None,
                     window_end: dt.date | None = None, conn: sqlite3.Connection | None = None) -> None:
        """Mark a unit as running (attempts + 1). Committed at once unless `conn` is given."""
        sql = """INSERT INTO runs (job, partition, window_start, window_end, status, attempts, started_at)
                 VALUES (?, ?, ?, ?, 'running', 1, ?)
                 ON CONFLICT(job, partition) DO UPDATE SET status = 'running', attempts = runs.attempts + 1,
                   started_at = excluded.started_at,
                   window_start = COALESCE(excluded.window_start, runs.window_start),
                   window_end = COALESCE(excluded.window_end, runs.window_end)"""
        args = (job, partition, _iso(window_start), _iso(window_end), _iso(utcnow()))
        if conn is not None:
            conn.execute(sql, args)
        else:
            with self.transaction() as c:
                c.execute(sql, args)

    def ledger_finish(self, job: str, partition: str, status: str, rows: int = 0, error: str | None = None,
                      detail: Mapping[str, Any] | None = None, conn: sqlite3.Connection | None = None,
                      covered: tuple[dt.date, dt.date] | None = None) -> None:
        """Record the outcome of a unit. Pass the open transaction's `conn` so the unit's data and
        its ledger row commit together. `covered` (fetch jobs): the date range now complete."""
        now = _iso(utcnow())
        covered_from = _iso(covered[0]) if covered else None
        covered_to = _iso(covered[1]) if covered else None
        sql = """INSERT INTO runs (job, partition, status, attempts, rows, error, detail, started_at, finished_at,
                                   last_success, covered_from, covered_to)
                 VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT(job, partition) DO UPDATE SET status = excluded.status, rows = excluded.rows,
                   error = excluded.error, detail = excluded.detail, finished_at = excluded.finished_at,
                   last_success = COALESCE(excluded.last_success, runs.last_success),
                   covered_from = COALESCE(excluded.covered_from, runs.covered_from),
                   covered_to = COALESCE(excluded.covered_to, runs.covered_to)"""
        args = (job, partition, status, rows, redact(error) if error else None,
                json.dumps(dict(detail), default=str) if detail else None, now, now,
                now if status == "success" else None, covered_from, covered_to)
        if conn is not None:
            conn.execute(sql, args)
        else:
            with self.transaction() as c:
                c.execute(sql, args)

    def integrity_check(self) -> str:
        return str(self.conn.execute("PRAGMA integrity_check").fetchone()[0])


def _same(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)


def _split_sql(sql: str) -> list[str]:
    """Split a migration file into statements (no semicolons inside string literals or triggers)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
