"""Diplomatic statements lined up against stress regimes.

catalogue.py (the curated statement catalogue and its validation), confounders.py (sanctions,
exchange closures and key-rate decisions), timing.py (event day t0 on each series' calendar),
study.py (the pure, vectorised event study with placebo p-values) and align.py (the thin layer that
reads the store as of a date). The CLI is stresswatch/commands/events.py; the method is described
in docs/events.md.
"""

from __future__ import annotations

import datetime as dt

from stresswatch.settings import Settings
from stresswatch.store import Store


def align_for_day(store: Store, settings: Settings, day: dt.date) -> int:
    """The daily pipeline's events step: align the catalogue as of `day`; returns how many
    statements got an event day (the report re-aligns from the store itself)."""
    from stresswatch.events.align import align as _align

    result = _align(store, settings, day)
    return int((result.result.t0 >= 0).sum()) if result.result.t0 is not None else 0
