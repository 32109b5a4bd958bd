"""The `stresswatch sources` command: every registered source with its series, base URL, enabled
flag, and its last success and last error from the run ledger (jobs "fetch:<id>").

Read-only: it never creates a store; without one the ledger columns are empty.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from stresswatch import output
from stresswatch.commands import add_format, command
from stresswatch.fetchers.base import REGISTRY, load_all
from stresswatch.settings import Settings

if TYPE_CHECKING:  # the store and pandas are imported only when the command runs
    from stresswatch.app.session import App
    from stresswatch.store import Store

COLUMNS = ["source", "enabled", "series", "base_url", "last_success", "last_error", "last_error_at", "description"]


def source_rows(settings: Settings, store: Store | None = None,
                today: dt.date | None = None) -> list[dict[str, Any]]:
    """One row per registered source, sorted by id. `store` (or `today`) None = no ledger information."""
    from stresswatch import status

    load_all()
    ledger: dict[str, dict[str, Any]] = {}
    if store is not None and today is not None:
        ledger = {r["source"]: r for r in status.source_status(store, settings, today)}
    rows = []
    for source_id in sorted(REGISTRY):
        cls = REGISTRY[source_id]
        conf = settings.source(source_id)
        fetcher = cls(conf)
        info = ledger.get(source_id, {})
        rows.append({
            "source": source_id,
            "enabled": bool(conf["enabled"]),
            "series": [s.id for s in fetcher.series()],
            "base_url": fetcher.base_url,
            "last_success": info.get("last_success"),
            "last_error": info.get("last_error"),
            "last_error_at": info.get("last_error_at"),
            "description": (cls.__doc__ or source_id).strip().splitlines()[0],
        })
    return rows


def cmd_sources(args, app: App) -> int:
    store = app.store() if app.settings.store_path.exists() else None
    rows = source_rows(app.settings, store, app.today())
    if args.format != "json":
        rows = [dict(r, series=" ".join(r["series"])) for r in rows]
    output.emit(rows, COLUMNS, args.format, app.out)
    return 0


def register(sub) -> None:
    p = command(sub, "sources", "Every data source: its series, base URL, enabled flag, last success and last error.",
                "stresswatch sources --format json", cmd_sources)
    add_format(p)
