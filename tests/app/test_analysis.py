""""Compute what D needs": a date whose stored analysis does not cover the data known on it is
computed once, the caller is told before it starts, and the date's stored alignment is dropped."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from stresswatch import settings as settings_mod
from stresswatch.app.analysis import ensure_computed, stale_analysis
from stresswatch.app.session import App
from stresswatch.clock import FixedClock
from stresswatch.events import align as ev_align
from stresswatch.fetchers.base import Observation
from stresswatch.store import Store
from tests.fakes import report_data as R

D = R.REPORT_DAY


@pytest.fixture
def app(tmp_path):
    settings = settings_mod.load(R.write_config(tmp_path), environ={})
    with Store.open(settings.store_path) as store:
        R.fill_store(store)
    session = App(settings, io.StringIO(), FixedClock("2023-08-16T18:00:00Z"))
    yield session
    session.close()


def test_a_date_without_a_model_run_is_computed_once(app):
    store = app.store()
    assert stale_analysis(store, app.settings, D) == [f"model t2 has no run as of {D}"]
    ev_align.save(store, ev_align.align(store, app.settings, D))  # an alignment made before the analysis
    assert store.alignments.get(D) is not None
    told = []
    done = ensure_computed(app, [D], before=lambda day, why: told.append((day, why)))
    assert told == [(D, [f"model t2 has no run as of {D}"])]
    assert [c.day for c in done] == [D] and done[0].reasons == told[0][1]
    assert done[0].result.regimes_error is None and done[0].result.rows > 0
    assert store.alignments.get(D) is None  # it was made from the old analysis
    assert stale_analysis(store, app.settings, D) == []
    assert ensure_computed(app, [D]) == []


def test_a_later_date_needs_a_newer_run_and_an_index_up_to_its_last_fixing(app):
    store = app.store()
    ensure_computed(app, [D])
    fri, sat, mon = dt.date(2023, 8, 18), dt.date(2023, 8, 19), dt.date(2023, 8, 21)
    assert stale_analysis(store, app.settings, fri) == [f"model t2's latest run as of {fri} ends {D}"]
    # a Saturday-dated fixing is due in the index from the Friday before (which the index has) ...
    fetched = dt.datetime(2023, 8, 21, 16, tzinfo=dt.timezone.utc)
    store.observations.write_observations([Observation("cbr.fx.USD", sat, 95.0)], fetched_at=fetched)
    assert not [r for r in stale_analysis(store, app.settings, sat) if "stress index" in r]
    # ... a Monday one is not in it yet
    store.observations.write_observations([Observation("cbr.fx.USD", mon, 96.0)], fetched_at=fetched)
    assert f"the stress index is not computed up to {mon}" in stale_analysis(store, app.settings, mon)
