"""Series metadata and observations with vintages (tables `series`, `observations`; migration 0001;
`observation_deletions`, migration 0008).

Vintages follow the ALFRED model: an observation row is (series, date, known_at, value). A value
fetched after the fact becomes known at `date + publication lag` (or the fetch date, if earlier);
a changed value for an existing date adds a new vintage known from the fetch date; an unchanged
re-fetch writes nothing. `read_series(..., asof=D)` returns, per date, the latest vintage known by D.

Derived series (`write_derived`, `write_derived_many`) compare only the dates given with what is
stored and write new or changed values. For the compute step's daily append: `input_news` (rows
written since a stamp or known after a date) and `deletions_since` (the record
`delete_observations` keeps, since a deleted row leaves no trace of its own).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable, NamedTuple, TypedDict

import numpy as np
import pandas as pd

from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.store.database import Database, as_date, iso

DateLike = dt.date | str


class SeriesFields(TypedDict):
    """What the `series` table says of a series (the fields every series answer carries)."""

    id: str
    source: str
    name: str
    unit: str
    frequency: str
    publication_lag_days: int


class SeriesRow(SeriesFields):
    """One `series` row."""

    updated_at: str


class SeriesEntry(SeriesFields):
    """A registered series and the date of its oldest observation (`series_entries`)."""

    first: str | None


class SeriesListing(SeriesEntry):
    """A series with the span of its observations (`list_series`)."""

    last: str | None
    count: int
    last_fetched: str | None


class DerivedSeries(NamedTuple):
    """One computed series to store: its metadata, values by date, and when each became known
    (None: on its own date)."""

    info: SeriesInfo
    values: pd.Series
    known_at: pd.Series | None = None


_UPSERT_OBSERVATION = """INSERT INTO observations (series_id, date, known_at, value, fetched_at, payload_id)
   VALUES (?, ?, ?, ?, ?, ?)
   ON CONFLICT(series_id, date, known_at) DO UPDATE SET value = excluded.value,
     fetched_at = excluded.fetched_at{payload}
   WHERE observations.value IS NOT excluded.value"""


class Observations:
    """Series and their vintaged observations."""

    def __init__(self, db: Database):
        self._db = db

    # -- writes ---------------------------------------------------------------------------------
    def upsert_series(self, infos: Iterable[SeriesInfo]) -> None:
        now = self._db.now_text()
        with self._db.transaction():
            self._db.executemany(
                """INSERT INTO series (id, source, name, unit, frequency, publication_lag_days, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET source=excluded.source, name=excluded.name,
                     unit=excluded.unit, frequency=excluded.frequency,
                     publication_lag_days=excluded.publication_lag_days, updated_at=excluded.updated_at
                   WHERE series.name IS NOT excluded.name OR series.unit IS NOT excluded.unit
                     OR series.frequency IS NOT excluded.frequency OR series.source IS NOT excluded.source
                     OR series.publication_lag_days IS NOT excluded.publication_lag_days""",
                [(i.id, i.source, i.name, i.unit, i.frequency, i.publication_lag_days, now) for i in infos])

    def write_observations(self, observations: Iterable[Observation], *, fetched_at: dt.datetime,
                           payload_id: int | None = None) -> int:
        """Store observations as vintages; return how many rows were added or revised.

        The series must exist (`upsert_series`). Unchanged values write nothing. Runs inside the
        caller's transaction when there is one, else in its own.
        """
        fetch_date = as_date(fetched_at)
        fetched = iso(fetched_at)
        by_series: dict[str, dict[str, float]] = {}
        for obs in observations:
            if obs.value is None or (isinstance(obs.value, float) and math.isnan(obs.value)):
                continue
            by_series.setdefault(obs.series_id, {})[iso(obs.date) or ""] = float(obs.value)
        if not by_series:
            return 0
        lags = self._lags()
        written = 0
        with self._db.transaction():
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
                self._db.executemany(_UPSERT_OBSERVATION.format(payload=", payload_id = excluded.payload_id"),
                                     rows)
                written += len(rows)
        return written

    def write_derived(self, info: SeriesInfo, values: pd.Series, known_at: pd.Series | None = None,
                      asof: dt.date | None = None) -> int:
        """Store a computed series (stress.index, ...). Each new date becomes known at `known_at`
        (default: its own date, i.e. point-in-time values); a changed value for a stored date adds a
        vintage known from `asof` (default: the latest date in `values`). NaN values are skipped.

        Only the dates of `values` are compared with what is stored (one range read), and only
        new or changed values are written: passing the last days of a series costs those days."""
        return self.write_derived_many([DerivedSeries(info, values, known_at)], asof)[info.id]

    def write_derived_many(self, items: Iterable[DerivedSeries], asof: dt.date | None = None) -> dict[str, int]:
        """`write_derived` for several series in one transaction (one metadata write; per series one
        read of the stored vintages over its dates and one insert, so memory follows one series);
        returns the rows written per series."""
        items = list(items)
        self.upsert_series([i.info for i in items])
        written = {i.info.id: 0 for i in items}
        written_at = self._db.now_text()
        with self._db.transaction():
            for item in items:
                rows = self._derived_rows(item, asof, written_at)
                if rows:
                    self._db.executemany(_UPSERT_OBSERVATION.format(payload=""), rows)
                written[item.info.id] += len(rows)
        return written

    def _derived_rows(self, item: DerivedSeries, asof: dt.date | None, written_at: str) -> list[tuple]:
        """The rows one derived series needs: new dates with their known_at, changed values as a
        vintage known from `asof` (never before the vintage they revise)."""
        values = item.values.dropna()
        if values.empty:
            return []
        days = pd.DatetimeIndex(pd.to_datetime(values.index)).to_numpy().astype("datetime64[D]")
        dates = np.datetime_as_string(days).tolist()
        if item.known_at is None:
            knowns = dates
        else:
            k = pd.to_datetime(pd.Series(item.known_at).reindex(values.index)).to_numpy().astype("datetime64[D]")
            knowns = np.datetime_as_string(np.where(np.isnat(k), days, k)).tolist()
        vals = values.to_numpy(dtype=float)
        revision_day = as_date(asof).isoformat() if asof is not None else max(dates)
        stored_values = self._latest_vintages(item.info.id, min(dates), max(dates))
        prev = [stored_values.get(d) for d in dates]
        prev_value = np.array([p[0] if p is not None else np.nan for p in prev], dtype=float)
        stored = ~np.isnan(prev_value)
        tolerance = np.maximum(1e-12 * np.maximum(np.abs(vals), np.abs(prev_value)), 1e-12)
        same = stored & ((vals == prev_value) | (np.abs(vals - prev_value) <= tolerance))
        sid = item.info.id
        return [(sid, dates[i], knowns[i] if prev[i] is None else max(prev[i][1], revision_day), float(vals[i]),
                 written_at, None) for i in np.flatnonzero(~same).tolist()]

    def delete_observations(self, source: str) -> int:
        """Delete every observation of the series of `source` (before a reparse rebuilds them) and
        record the deletion (`deletions_since`: the rows come back with their original fetch
        times, so this record is how a later reader learns that they changed)."""
        with self._db.transaction():
            cur = self._db.execute(
                "DELETE FROM observations WHERE series_id IN (SELECT id FROM series WHERE source = ?)", (source,))
            self._db.execute("INSERT INTO observation_deletions (source, rows, deleted_at) VALUES (?, ?, ?)",
                             (source, cur.rowcount, self._db.now_text()))
            return cur.rowcount

    # -- reads ----------------------------------------------------------------------------------
    def read_series(self, series_id: str, start: DateLike | None = None, end: DateLike | None = None,
                    asof: DateLike | None = None) -> pd.Series:
        """Values per date (latest vintage known by `asof`; all vintages when asof is None)."""
        frame = self.read_vintaged(series_id, asof=asof, start=start, end=end)
        return pd.Series(frame["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(frame["date"], name="date"),
                         name=series_id)

    def read_vintaged(self, series_id: str, asof: DateLike | None = None, start: DateLike | None = None,
                      end: DateLike | None = None, in_force: bool = False) -> pd.DataFrame:
        """DataFrame[date, value, known_at] with, per date, the latest vintage known by `asof`.
        `in_force`: with `start`, also the last date before `start` (the value in force on it)."""
        sql = ["SELECT date, value, MAX(known_at) AS known_at FROM observations WHERE series_id = ?"]
        args: list[Any] = [series_id]
        if asof is not None:
            sql.append("AND known_at <= ?")
            args.append(iso(as_date(asof)))
        if start is not None and in_force:
            sql.append("AND date >= COALESCE((SELECT MAX(date) FROM observations WHERE series_id = ? AND date < ?"
                       + (" AND known_at <= ?" if asof is not None else "") + "), ?)")
            args += [series_id, iso(as_date(start))] + ([iso(as_date(asof))] if asof is not None else [])
            args.append(iso(as_date(start)))
        elif start is not None:
            sql.append("AND date >= ?")
            args.append(iso(as_date(start)))
        if end is not None:
            sql.append("AND date <= ?")
            args.append(iso(as_date(end)))
        sql.append("GROUP BY date ORDER BY date")
        rows = self._db.query(" ".join(sql), args)
        return pd.DataFrame({
            "date": _dates([r["date"] for r in rows]),
            "value": pd.Series([r["value"] for r in rows], dtype=float),
            "known_at": _dates([r["known_at"] for r in rows]),
        })

    def latest_values(self, series_id: str, start: DateLike, end: DateLike) -> list[tuple[dt.date, float]]:
        """(date, value) of the latest vintage per date in [start, end], oldest first, without
        pandas (the plausibility screen reads a little history for every partition it judges)."""
        rows = self._db.query(
            """SELECT date, value, MAX(known_at) FROM observations WHERE series_id = ? AND date BETWEEN ? AND ?
               GROUP BY date ORDER BY date""", (series_id, iso(as_date(start)), iso(as_date(end))))
        return [(dt.date.fromisoformat(r[0]), float(r[1])) for r in rows]

    def all_vintages(self, series_id: str) -> pd.DataFrame:
        """Every vintage: DataFrame[date, known_at, value] ordered by date, then known_at (for
        callers that answer many as-of questions from one read, such as a range of reports)."""
        rows = self._db.query(
            "SELECT date, known_at, value FROM observations WHERE series_id = ? ORDER BY date, known_at",
            (series_id,))
        return pd.DataFrame({
            "date": pd.to_datetime([r["date"] for r in rows]),
            "known_at": pd.to_datetime([r["known_at"] for r in rows]),
            "value": pd.Series([r["value"] for r in rows], dtype=float),
        })

    def first_date(self, series_id: str, asof: DateLike | None = None) -> dt.date | None:
        """The oldest observation date of a series (among values known by `asof`)."""
        sql, args = "SELECT MIN(date) AS first FROM observations WHERE series_id = ?", [series_id]
        if asof is not None:
            sql += " AND known_at <= ?"
            args.append(iso(as_date(asof)) or "")
        row = self._db.query_one(sql, args)
        return dt.date.fromisoformat(row["first"]) if row and row["first"] else None

    def last_observation_date(self, source: str, asof: dt.date) -> dt.date | None:
        """The newest observation date of any series of `source` known by `asof` (and dated by it)."""
        row = self._db.query_one(
            """SELECT MAX(o.date) AS last FROM observations o JOIN series s ON s.id = o.series_id
               WHERE s.source = ? AND o.known_at <= ? AND o.date <= ?""",
            (source, iso(asof), iso(asof)))
        return dt.date.fromisoformat(row["last"]) if row and row["last"] else None

    def list_series(self, source: str | None = None) -> list[SeriesListing]:
        # aggregate the observations per series first (a scan in key order), then join: half the
        # time of grouping the join
        inner = "SELECT series_id, MIN(date) AS first, MAX(date) AS last, COUNT(DISTINCT date) AS count, " \
                "MAX(fetched_at) AS last_fetched FROM observations"
        args: list[Any] = []
        if source:
            inner += " WHERE series_id IN (SELECT id FROM series WHERE source = ?)"
            args.append(source)
        sql = f"""SELECT s.id, s.source, s.name, s.unit, s.frequency, s.publication_lag_days, a.first, a.last,
                         COALESCE(a.count, 0) AS count, a.last_fetched
                  FROM series s LEFT JOIN ({inner} GROUP BY series_id) a ON a.series_id = s.id"""
        if source:
            sql += " WHERE s.source = ?"
            args.append(source)
        sql += " ORDER BY s.id"
        return [SeriesListing(**dict(r)) for r in self._db.query(sql, args)]  # type: ignore[typeddict-item]

    def series_entries(self) -> list[SeriesEntry]:
        """Every registered series with the date of its oldest observation (None when it has none),
        ordered by id: one seek per series down the primary key, where `list_series` aggregates
        every stored observation (a report needs no count)."""
        rows = self._db.query(
            """SELECT s.id, s.source, s.name, s.unit, s.frequency, s.publication_lag_days,
                      (SELECT MIN(o.date) FROM observations o WHERE o.series_id = s.id) AS first
               FROM series s ORDER BY s.id""")
        return [SeriesEntry(**dict(r)) for r in rows]  # type: ignore[typeddict-item]

    def series_info(self, series_id: str) -> SeriesRow | None:
        row = self._db.query_one("SELECT * FROM series WHERE id = ?", (series_id,))
        return SeriesRow(**dict(row)) if row else None  # type: ignore[typeddict-item]

    def series_lags(self, prefixes: tuple[str, ...]) -> dict[str, int]:
        """Registered series whose id starts with one of `prefixes`, with their publication lag in
        days (the `series` table only: no observation is read)."""
        return {r["id"]: int(r["publication_lag_days"]) for r in self._db.query(
            "SELECT id, publication_lag_days FROM series ORDER BY id") if r["id"].startswith(prefixes)}

    def input_news(self, series_ids: Iterable[str], since: str, known_after: dt.date,
                   known_until: dt.date) -> dict[str, dt.date]:
        """Per series, the earliest date of a row that is news for a reader that read the store at
        the stamp `since` as of `known_after`: written (fetched_at) at or after `since`, or known
        after `known_after` (and by `known_until`). Series without news are left out."""
        ids = list(series_ids)
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        rows = self._db.query(
            f"""SELECT series_id, MIN(date) AS first FROM observations
                WHERE series_id IN ({marks}) AND known_at <= ? AND (fetched_at >= ? OR known_at > ?)
                GROUP BY series_id""", [*ids, iso(known_until), since, iso(known_after)])
        return {r["series_id"]: dt.date.fromisoformat(r["first"]) for r in rows}

    def deletions_since(self, since: str) -> list[str]:
        """Sources whose observations were deleted at or after the stamp `since`."""
        return sorted({r["source"] for r in self._db.query(
            "SELECT source FROM observation_deletions WHERE deleted_at >= ?", (since,))})

    # -- helpers --------------------------------------------------------------------------------
    def _lags(self) -> dict[str, int]:
        return {r["id"]: r["publication_lag_days"] for r in self._db.query(
            "SELECT id, publication_lag_days FROM series")}

    def _latest_vintages(self, series_id: str, first: str, last: str) -> dict[str, tuple[float, str]]:
        rows = self._db.query(
            """SELECT date, value, MAX(known_at) AS known_at FROM observations
               WHERE series_id = ? AND date BETWEEN ? AND ? GROUP BY date""", (series_id, first, last))
        return {r["date"]: (r["value"], r["known_at"]) for r in rows}


def _dates(texts: list[str]) -> pd.DatetimeIndex:
    """Stored date texts as datetimes (numpy's ISO parser for plain dates: much faster than
    pandas' inference, same result)."""
    if not texts:
        return pd.to_datetime(texts)
    try:
        return pd.DatetimeIndex(np.array(texts, dtype="datetime64[D]").astype("datetime64[us]"))
    except ValueError:
        return pd.to_datetime(texts)


def _same(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
