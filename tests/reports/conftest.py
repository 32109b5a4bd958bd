"""A real Store filled with known data, a fitted headline model and a small catalogue (module scope:
the regime fit is the slow part, so it runs once per module)."""

from __future__ import annotations

import datetime as dt

import pytest

from stresswatch.regimes.update import update_all
from stresswatch import settings as settings_mod
from stresswatch.store import Store
from tests.fakes import report_data as R


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report")
    config = R.write_config(tmp)
    settings = settings_mod.load(config, environ={})
    store = Store.open(settings.store_path)
    series = R.fill_store(store)
    update_all(store, settings, R.REPORT_DAY)
    yield {"tmp": tmp, "config": config, "settings": settings, "store": store, "series": series}
    store.close()


def fixed_clock(when: str = "2026-01-05T08:00:00"):
    stamp = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
    return lambda: stamp
