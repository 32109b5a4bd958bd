"""The empty-store notice: whether anything is known on D at all and, when the store holds no
observation yet, which fetches failed (latest failure per source, from the run ledger) — so the
first report after an offline first run says that no data is stored yet and why, instead of
asking for a compute that has nothing to work on.

Whether the store holds data is a fact of the store, not of D: a report for D rendered on an
empty store says "no data is stored yet", rendered after a later backfill it says what is known
on D. Reports that have data are unaffected."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable

from stresswatch.demo import OFFLINE_HINT as DEMO_HINT
from stresswatch.reports.reader import SeriesReader

#: sources -> their open fetch failures (`reports.archive.failed_fetches`)
Failures = Callable[[Iterable[str]], list[dict[str, Any]]]

#: what to do on a machine that cannot reach the sources
OFFLINE_HINT = "check the network or the [sources.*] base_url settings, then run `stresswatch fetch`; " + DEMO_HINT


def stored_data(reader: SeriesReader, sources: list[str], day: dt.date, failures: Failures) -> dict[str, Any]:
    """`empty`: no observation is dated on or before D, so nothing is known on D; `stored`: the
    store holds any observation at all; `failed`: the open fetch failures per source (looked up
    only when nothing is stored); `message`: the explanation the report shows when `empty`."""
    firsts = sorted(row["first"] for row in reader.catalog() if row["first"])
    stored = bool(firsts)
    if firsts and firsts[0] <= day.isoformat():
        return {"empty": False, "stored": True, "failed": [], "message": ""}
    if stored:
        return {"empty": True, "stored": True, "failed": [],
                "message": f"No data is known on {day}: the store's history starts on {firsts[0]}."}
    failed = failures(sources)
    if failed:
        names = [f["source"] for f in failed]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        text = f"No data is stored yet. The last fetch of {listed} failed (each error is listed under the warnings). "
    else:
        text = "No data is stored yet, and no fetch has been recorded in this store. "
    return {"empty": True, "stored": False, "failed": failed,
            "message": text + f"The report for {day} has nothing to show: " + OFFLINE_HINT + "."}
