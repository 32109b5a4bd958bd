"""The freshness section: per source, the newest observation known on D, the last success and
last error of its fetches on or before D (run ledger facts, frozen after D by `reports.archive`),
and a stale flag — by `stresswatch.status`'s rules (`series_stale`, `fetch_age`) applied to what
is known on D."""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Mapping

from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.values import iso, years_before
from stresswatch.settings import Settings
from stresswatch.status import fetch_age, series_stale
from stresswatch.store.observations import SeriesEntry

#: (sources, D) -> per source: last_success, last_error, last_error_at as known on D
LedgerFacts = Callable[[list[str], dt.date], Mapping[str, Mapping[str, Any]]]


def freshness(reader: SeriesReader, settings: Settings, day: dt.date, ledger_facts: LedgerFacts) -> dict[str, Any]:
    """Per source: last observation known on D, last success and last error of its fetches on or
    before D (run ledger, frozen after D), and a stale flag: the freshest series' next value is
    overdue by more than `[report] stale_days` business days, or no fetch succeeded within the
    source's `stale_days`. The rules are `stresswatch.status`'s (`series_stale`, `fetch_age`), applied
    to what is known on D."""
    by_source: dict[str, list[SeriesEntry]] = {}
    for row in reader.catalog():
        by_source.setdefault(row["source"], []).append(row)
    sources = [s for s in settings.source_ids if settings.source(s)["enabled"] or s in by_source]
    facts = ledger_facts(sources, day)
    limit = settings["report"]["stale_days"]
    rows = []
    for source in sources:
        conf = settings.source(source)
        per_series = []
        for info in by_source.get(source, []):
            s = reader.read(info["id"], day, start=years_before(day, 3))
            last = s.index[-1].date() if not s.empty else None
            per_series.append({"series": info["id"], "last": iso(last),
                               "stale": series_stale(last, info["frequency"], info["publication_lag_days"], day,
                                                     limit)})
        with_data = [p for p in per_series if p["last"]]
        last_obs = max((p["last"] for p in with_data), default=None)
        f = facts.get(source, {})
        reasons = []
        if with_data and all(p["stale"] for p in with_data):
            reasons.append(f"newest observation {last_obs} is overdue by more than {limit} business days")
        if f.get("last_success"):
            gap = fetch_age(f["last_success"], day)
            if gap > conf["stale_days"]:
                reasons.append(f"no successful fetch for {gap} business days")
        stale_series = [p["series"] for p in with_data if p["stale"]]
        rows.append({
            "source": source, "enabled": bool(conf["enabled"]), "series": len(per_series),
            "series_with_data": len(with_data), "last_observation": last_obs,
            "last_success": f.get("last_success"), "last_error": f.get("last_error"),
            "last_error_at": f.get("last_error_at"),
            "stale": bool(reasons) if with_data or f.get("last_success") else None,
            "stale_reason": "; ".join(reasons), "stale_series": stale_series,
            "status": ("disabled" if not conf["enabled"] else "no data" if not with_data
                       else "stale" if reasons else "ok"),
        })
    return {"rows": rows, "stale_days": limit}
