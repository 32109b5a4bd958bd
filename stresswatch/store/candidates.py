"""GDELT event candidates (tables `gdelt_candidates`, `gdelt_candidate_queries`; migration 0005).

A candidate is a news article a GDELT query found (`fetchers.base.Candidate`); it may later be
promoted to a catalogue statement by the events module. Candidates are deduplicated by URL: the
first sighting keeps its row, a later one only fills empty fields, moves `seen_at` earlier if it
was seen earlier, and adds its query id to `gdelt_candidate_queries`.

Writes join the open transaction (the pipeline saves a partition's candidates inside the
partition's transaction) and are wrapped in a SAVEPOINT, so a batch is atomic on its own too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping, TypedDict

from stresswatch.clock import utc_stamp
from stresswatch.errors import StoreError
from stresswatch.fetchers.base import Candidate
from stresswatch.store.database import Database

_FIELDS = ("url", "title", "seen_at", "domain", "language", "source_country", "query_id")

#: a bound of a date filter: a date (whole day), a datetime, or their ISO text
Bound = dt.date | dt.datetime | str


class CandidateRow(TypedDict):
    """One stored candidate; `query_ids`: every query that found it (sorted)."""

    url: str
    title: str
    seen_at: str  # UTC text YYYY-MM-DDTHH:MM:SSZ
    domain: str
    language: str
    source_country: str
    query_id: str  # the first query that found it
    stored_at: str
    query_ids: list[str]


def format_seen(moment: dt.datetime | str) -> str:
    """UTC text `YYYY-MM-DDTHH:MM:SSZ`; naive datetimes are taken as UTC."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return utc_stamp(moment)


class Candidates:
    """GDELT candidates and the queries that found them."""

    def __init__(self, db: Database):
        self._db = db

    def save(self, candidates: Iterable[Candidate | Mapping[str, Any]], stored_at: dt.datetime | None = None) -> int:
        """Store candidates (Candidate objects or dicts), deduplicated by URL. Returns how many URLs
        were new."""
        batch: dict[str, dict[str, str]] = {}
        queries: set[tuple[str, str]] = set()
        for c in candidates:
            rec = _record(c)
            batch[rec["url"]] = _merge(batch[rec["url"]], rec) if rec["url"] in batch else rec
            if rec["query_id"]:
                queries.add((rec["url"], rec["query_id"]))
        if not batch:
            return 0
        stamp = format_seen(stored_at) if stored_at else self._db.now_text()
        new = 0
        try:
            with self._db.transaction(), self._db.savepoint("candidates"):
                for rec in batch.values():
                    cur = self._db.execute(
                        "INSERT OR IGNORE INTO gdelt_candidates (url, title, seen_at, domain, language,"
                        " source_country, query_id, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (*[rec[k] for k in _FIELDS], stamp))
                    if cur.rowcount == 1:
                        new += 1
                        continue
                    self._db.execute(
                        "UPDATE gdelt_candidates SET seen_at = min(seen_at, ?),"
                        " title = CASE WHEN title = '' THEN ? ELSE title END,"
                        " domain = CASE WHEN domain = '' THEN ? ELSE domain END,"
                        " language = CASE WHEN language = '' THEN ? ELSE language END,"
                        " source_country = CASE WHEN source_country = '' THEN ? ELSE source_country END,"
                        " query_id = CASE WHEN query_id = '' THEN ? ELSE query_id END WHERE url = ?",
                        (rec["seen_at"], rec["title"], rec["domain"], rec["language"], rec["source_country"],
                         rec["query_id"], rec["url"]))
                self._db.executemany("INSERT OR IGNORE INTO gdelt_candidate_queries (url, query_id) VALUES (?, ?)",
                                     sorted(queries))
        except StoreError as exc:  # the database already typed it; say what was being stored
            raise type(exc)(f"cannot store GDELT candidates: {exc}") from None
        return new

    def delete(self, query_id: str | None = None) -> int:
        """Forget candidates: all of them, or what one query found (a candidate another query also
        found stays, credited to that query). E.g. before `reparse` rebuilds them from the payload
        archive, or when a query is dropped. Returns the number of candidate rows deleted."""
        with self._db.transaction(), self._db.savepoint("candidates"):
            if query_id is None:
                self._db.execute("DELETE FROM gdelt_candidate_queries")
                return self._db.execute("DELETE FROM gdelt_candidates").rowcount
            self._db.execute("DELETE FROM gdelt_candidate_queries WHERE query_id = ?", (query_id,))
            deleted = self._db.execute(
                "DELETE FROM gdelt_candidates WHERE url NOT IN (SELECT url FROM gdelt_candidate_queries)"
                " AND (query_id = ? OR query_id = '')", (query_id,)).rowcount
            self._db.execute(
                "UPDATE gdelt_candidates SET query_id = (SELECT MIN(q.query_id) FROM gdelt_candidate_queries q"
                " WHERE q.url = gdelt_candidates.url) WHERE query_id = ?", (query_id,))
            return deleted

    def rows(self, start: Bound | None = None, end: Bound | None = None,
             query_id: str | None = None) -> list[CandidateRow]:
        """Candidates seen in [start, end] (dates inclusive, UTC), optionally found by `query_id`,
        oldest first."""
        clauses, args = [], []
        if start is not None:
            clauses.append("c.seen_at >= ?")
            args.append(_bound(start, end=False))
        if end is not None:
            clauses.append("c.seen_at <= ?")
            args.append(_bound(end, end=True))
        if query_id is not None:
            clauses.append("c.url IN (SELECT url FROM gdelt_candidate_queries WHERE query_id = ?)")
            args.append(query_id)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return self._rows(where, args)

    def get(self, url: str) -> CandidateRow | None:
        """One candidate by URL, or None."""
        rows = self._rows("WHERE c.url = ?", [url])
        return rows[0] if rows else None

    def _rows(self, where: str, args: list[Any]) -> list[CandidateRow]:
        sql = ("SELECT c.url, c.title, c.seen_at, c.domain, c.language, c.source_country, c.query_id, c.stored_at,"
               " (SELECT group_concat(q.query_id, ',') FROM (SELECT query_id FROM gdelt_candidate_queries"
               "   WHERE url = c.url ORDER BY query_id) q) AS query_ids"
               f" FROM gdelt_candidates c {where} ORDER BY c.seen_at, c.url")
        out = []
        for row in self._db.query(sql, args):
            rec = dict(zip(("url", "title", "seen_at", "domain", "language", "source_country", "query_id",
                            "stored_at", "query_ids"), row))
            rec["query_ids"] = rec["query_ids"].split(",") if rec["query_ids"] else []
            out.append(CandidateRow(**rec))  # type: ignore[typeddict-item]
        return out


def _record(c: Candidate | Mapping[str, Any]) -> dict[str, str]:
    get = (lambda k: c.get(k)) if isinstance(c, Mapping) else (lambda k: getattr(c, k, None))
    url = str(get("url") or "").strip()
    if not url:
        raise ValueError("a candidate without a url cannot be stored")
    seen = get("seen_at")
    if seen is None:
        raise ValueError(f"candidate {url} has no seen_at")
    return {"url": url, "title": str(get("title") or ""), "seen_at": format_seen(seen),
            "domain": str(get("domain") or ""), "language": str(get("language") or ""),
            "source_country": str(get("source_country") or ""), "query_id": str(get("query_id") or "")}


def _merge(old: dict[str, str], new: dict[str, str]) -> dict[str, str]:
    out = dict(old)
    out["seen_at"] = min(old["seen_at"], new["seen_at"])
    for key in ("title", "domain", "language", "source_country", "query_id"):
        if not out[key]:
            out[key] = new[key]
    return out


def _bound(value: Bound, end: bool) -> str:
    """Inclusive date bounds as text comparable with seen_at."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if "T" in value else \
            dt.date.fromisoformat(value)
    if isinstance(value, dt.datetime):
        return format_seen(value)
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T23:59:59Z" if end else f"{value.isoformat()}T00:00:00Z"
    raise TypeError(f"expected a date, got {value!r}")
