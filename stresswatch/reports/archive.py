"""The ledger-snapshot policy: which run-ledger facts (last success, last error per source) a
report for D shows, and when they are frozen. The rows live in `store.reports`
(report_ledger_snapshots, migration 0006); the report index is written by `reports.render`
straight through `store.reports.record`.

Why snapshots: the run ledger keeps one row per (job, partition) and a later fetch overwrites it,
so "last success / last error as known on D" cannot be recovered from it after the fact. The first
render of D after D is over freezes the facts (taken from ledger rows finished on or before D);
later renders of D read the frozen copy. Renders on D itself recompute and overwrite, since data
for D may still arrive that day. "Today" is the caller's: `clock.today(clock, settings)`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Mapping

from stresswatch.store import Store


def _day_end(day: dt.date) -> str:
    """ISO text greater than any ledger timestamp on `day` (ledger stamps are '...T..:..:..Z')."""
    return day.isoformat() + "T99"


def ledger_facts(store: Store, sources: Iterable[str], day: dt.date) -> dict[str, dict[str, Any]]:
    """Per source, from `fetch:<source>` ledger rows: latest success and latest failure on or before D.
    A failure counts only while no later success (on or before D) replaced it."""
    end = _day_end(day)
    by_job: dict[str, list[Mapping[str, Any]]] = {}
    for row in store.ledger.rows("fetch:"):
        by_job.setdefault(row["job"], []).append(row)
    out = {}
    for source in sources:
        rows = by_job.get(f"fetch:{source}", [])
        successes = [r["last_success"] for r in rows if r.get("last_success") and r["last_success"] < end]
        # a success row finished on or before D also counts when last_success was overwritten later
        successes += [r["finished_at"] for r in rows if r["status"] == "success" and r.get("finished_at")
                      and r["finished_at"] < end]
        failures = sorted((r for r in rows if r["status"] == "failed" and r.get("finished_at")
                           and r["finished_at"] < end), key=lambda r: r["finished_at"])
        last_success = max(successes) if successes else None
        last_failure = failures[-1] if failures else None
        current = last_failure if last_failure and (not last_success or last_failure["finished_at"] >= last_success) \
            else None
        out[source] = {"last_success": last_success,
                       "last_error": current["error"] if current else None,
                       "last_error_at": current["finished_at"] if current else None,
                       "failed": len(failures)}
    return out


def failed_fetches(store: Store, sources: Iterable[str]) -> list[dict[str, Any]]:
    """The fetch failures the store records now, not cut at any date: per source, its latest
    failed partition when no success followed it (source, at, error). Used only to explain an
    empty store — the report of any date then says the same, since no data is known anyway."""
    by_job: dict[str, list[Mapping[str, Any]]] = {}
    for row in store.ledger.rows("fetch:"):
        by_job.setdefault(row["job"], []).append(row)
    out = []
    for source in sources:
        rows = by_job.get(f"fetch:{source}", [])
        failed = sorted((r for r in rows if r["status"] == "failed"), key=lambda r: r.get("finished_at") or "")
        successes = [r.get("last_success") or r.get("finished_at") or "" for r in rows if r["status"] == "success"]
        if failed and (not successes or max(successes) < (failed[-1].get("finished_at") or "")):
            out.append({"source": source, "at": failed[-1].get("finished_at"), "error": failed[-1].get("error") or ""})
    return out


def ledger_snapshot(store: Store, sources: list[str], day: dt.date, today: dt.date,
                    write: bool = True) -> dict[str, dict[str, Any]]:
    """Ledger facts for D: the frozen copy when D is over (`today > day`) and one exists, else
    computed now (and stored when `write`; frozen from then on if D is over)."""
    frozen = today > day
    stored = store.reports.snapshot(day)
    if frozen and stored and all(s in stored for s in sources):
        return {s: dict(stored[s]) for s in sources}
    facts = ledger_facts(store, sources, day)
    if write:
        store.reports.save_snapshot(day, {source: f for source, f in facts.items()
                                          if not (frozen and source in stored)})
        for source in sources:
            if frozen and source in stored:
                facts[source] = dict(stored[source])
    return facts
