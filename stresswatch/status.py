"""Freshness: per series (first/last date, count, last fetch, stale) and per source (last success,
last error, stale), and the values quarantined by the plausibility rules. Used by `stresswatch
status` and `stresswatch sources`.

The staleness rules themselves are `series_stale` (is a series' next value overdue?) and
`fetch_age` (business days since the last successful fetch). They take plain facts as known on a
day, so the report's freshness section (`reports.sections.freshness`) applies the very same rules
to its as-of-D view. Ages are counted in business days with
`stresswatch.bizdays.business_days_between`, the calendar the alerts use too."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Iterable, Mapping

from stresswatch.bizdays import business_days_between
from stresswatch.errors import StresswatchError
from stresswatch.settings import Settings
from stresswatch.store import Store

log = logging.getLogger(__name__)

#: an extra status block: (store, settings) -> {block name: data}
Extra = Callable[[Store, Settings], Mapping[str, Any]]

#: calendar days a value may lag its period before its next one is due, by frequency
PERIOD_ALLOWANCE = {"D": 0, "W": 7, "M": 62, "Q": 120, "A": 400}


def series_stale(last: dt.date | None, frequency: str, lag_days: int | None, day: dt.date,
                 limit_bdays: int) -> bool | None:
    """True when the next value of a series is overdue on `day` by more than `limit_bdays` business
    days: due = last observation + period allowance (`PERIOD_ALLOWANCE`) + publication lag. None
    when the series has no observation. `last` is the last observation as known on `day`."""
    if last is None:
        return None
    due = last + dt.timedelta(days=PERIOD_ALLOWANCE.get(frequency, 0) + (lag_days or 0))
    return business_days_between(due, day) > limit_bdays


def fetch_age(last_success: str, day: dt.date) -> int:
    """Business days from the last successful fetch (a ledger stamp, `YYYY-MM-DDTHH:MM:SSZ`) to
    `day`; a source is stale when this exceeds its `stale_days`."""
    return business_days_between(dt.date.fromisoformat(last_success[:10]), day)


def source_status(store: Store, settings: Settings, today: dt.date) -> list[dict[str, Any]]:
    """One row per configured source: enabled, last success / error from the run ledger, stale flag."""
    out = []
    rows_by_job: dict[str, list[Mapping[str, Any]]] = {}
    for row in store.ledger.rows("fetch:"):
        rows_by_job.setdefault(row["job"], []).append(row)
    for source_id in settings.source_ids:
        conf = settings.source(source_id)
        rows = rows_by_job.get(f"fetch:{source_id}", [])
        successes = [r["last_success"] for r in rows if r.get("last_success")]
        failures = sorted((r for r in rows if r["status"] == "failed"), key=lambda r: r["finished_at"] or "")
        last_success = max(successes) if successes else None
        last_error = failures[-1] if failures else None
        # an error only counts while no later success replaced it
        current_error = last_error if last_error and (not last_success or
                                                      (last_error["finished_at"] or "") > last_success) else None
        stale = None
        if conf["enabled"]:
            if last_success is None:
                stale = True
            else:
                stale = fetch_age(last_success, today) > conf["stale_days"]
        out.append({
            "source": source_id, "enabled": conf["enabled"], "base_url": conf["base_url"] or None,
            "last_success": last_success, "last_error": current_error["error"] if current_error else None,
            "last_error_at": current_error["finished_at"] if current_error else None,
            "partitions_failed": sum(1 for r in rows if r["status"] == "failed"),
            "stale": stale,
        })
    return out


def series_status(store: Store, settings: Settings, today: dt.date) -> list[dict[str, Any]]:
    """One row per stored series: first/last date, count, last fetch and the `series_stale` flag
    (limit: the source's `stale_days`, 5 for a source not in the settings)."""
    out = []
    for row in store.observations.list_series():
        last = row["last"]
        stale_limit = settings.source(row["source"])["stale_days"] if row["source"] in settings.source_ids else 5
        stale = series_stale(dt.date.fromisoformat(last) if last else None, row["frequency"],
                             row["publication_lag_days"], today, stale_limit)
        out.append({"series": row["id"], "source": row["source"], "unit": row["unit"],
                    "frequency": row["frequency"], "first": row["first"], "last": last, "count": row["count"],
                    "last_fetched": row["last_fetched"], "stale": stale})
    return out


#: quarantined values `status` lists (newest first); the counts cover all of them
QUARANTINE_SHOWN = 20


def quarantine_status(store: Store) -> dict[str, Any]:
    """Values refused by the plausibility rules: how many, per series, and the newest ones with
    their reason (never stored as observations; see docs/data.md)."""
    counts = store.quarantine.counts()
    latest = [{"series": r["series_id"], "date": r["date"], "value": r["value"], "reason": r["reason"],
               "fetched_at": r["fetched_at"], "payload_id": r["payload_id"]}
              for r in store.quarantine.rows(limit=QUARANTINE_SHOWN)]
    return {"count": sum(c["count"] for c in counts),
            "by_series": [{"series": c["series_id"], "count": c["count"], "last_fetched": c["last_fetched"],
                           "last_reason": c["last_reason"]} for c in counts],
            "latest": latest}


def extras(store: Store, settings: Settings, providers: Iterable[Extra]) -> dict[str, Any]:
    """The extra status blocks of `providers` (e.g. trade_check.status_extra, daemon.status_extra),
    merged. A provider that fails shows its error in its own block instead of hiding the rest."""
    out: dict[str, Any] = {}
    for provider in providers:
        try:
            out.update(provider(store, settings) or {})
        except (StresswatchError, OSError, ValueError) as exc:
            name = provider.__module__.rsplit(".", 1)[-1]
            log.warning("status extra %s.%s failed: %s: %s", name, provider.__name__, type(exc).__name__, exc)
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
    return out
