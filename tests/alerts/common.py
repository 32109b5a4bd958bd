"""Shared by the alert tests: a fixed wall clock and settings with one regime rule on `ruble_rt`."""

from __future__ import annotations

import datetime as dt

from tests.conftest import settings_for

CLOCK = lambda: dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)  # noqa: E731 - wall clock never matters


def regime_settings(tmp_path, **extra):
    rules = [{"id": "stress-regime", "kind": "regime", "model": "ruble_rt", "enter": 0.5, "exit": 0.3,
              "for_runs": 2, "clear_runs": 2}]
    return settings_for(tmp_path, **{"alerts.rules": rules, **extra})
