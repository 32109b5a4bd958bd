"""reports.archive: the ledger-snapshot policy (facts follow the ledger while D is today, and are
frozen once D is over)."""

from __future__ import annotations

import datetime as dt

from stresswatch import settings as settings_mod
from stresswatch.reports import archive
from stresswatch.store import Store


def test_ledger_facts_are_frozen_once_the_day_is_over(tmp_path):
    store = Store.open(tmp_path / "l.db")
    settings = settings_mod.load(environ={}, overrides={"store.path": str(tmp_path / "l.db")})
    today = dt.datetime.now(dt.timezone.utc).date()
    store.ledger.finish("fetch:cbr", "2026", "success", rows=3)
    live = archive.ledger_snapshot(store, ["cbr"], today, today)
    assert live["cbr"]["last_success"] is not None and live["cbr"]["last_error"] is None
    # the next day: the snapshot is frozen; a later failure on the same partition does not change it
    tomorrow = today + dt.timedelta(days=1)
    frozen = archive.ledger_snapshot(store, ["cbr"], today, tomorrow)
    store.ledger.finish("fetch:cbr", "2026", "failed", error="HTTP 503")
    again = archive.ledger_snapshot(store, ["cbr"], today, tomorrow)
    assert again == frozen == live
    # while D is not over, the facts follow the ledger
    moving = archive.ledger_snapshot(store, ["cbr"], tomorrow, tomorrow)
    assert moving["cbr"]["last_error"] == "HTTP 503"
    store.close()
    assert settings.store_path == tmp_path / "l.db"
