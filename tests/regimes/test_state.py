"""regimes.state: the read model's shared answers inside `sharing_states` (one daily cycle's
readers ask for the same state several times)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd

from stresswatch.regimes import state as state_mod
from stresswatch.regimes.state import regime_state, sharing_states
from tests.reports.conftest import filled  # noqa: F401 - the report tests' store with a fitted model
from tests.fakes.report_data import REPORT_DAY as D


def _same(a, b) -> None:
    """Two states with the same content (the history frame compared as a frame)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif f.name not in ("run", "fit"):
            assert x == y, f.name
    assert (a.run and a.run.id) == (b.run and b.run.id)


def test_inside_a_block_a_repeated_question_gets_the_first_answer(filled):  # noqa: F811
    store, settings = filled["store"], filled["settings"]
    memo: dict = {}
    with sharing_states(memo):
        first = regime_state(store, settings, D)
        assert first.available
        assert regime_state(store, settings, D) is first
        assert regime_state(store, settings, D, first.model_id) is first  # the headline named or not
        before = regime_state(store, settings, dt.date(2023, 8, 15))
        assert before is not first and before.asof == dt.date(2023, 8, 15)
    assert len(memo) == 2
    fresh = regime_state(store, settings, D)  # outside the block: built again, the same answer
    assert fresh is not first
    _same(fresh, first)
    memo.clear()
    with sharing_states(memo):
        assert regime_state(store, settings, D) is not first


def test_without_a_block_nothing_is_kept(filled, monkeypatch):  # noqa: F811
    built = []
    real = state_mod.build_history
    monkeypatch.setattr(state_mod, "build_history", lambda *a, **k: built.append(1) or real(*a, **k))
    regime_state(filled["store"], filled["settings"], D)
    regime_state(filled["store"], filled["settings"], D)
    assert len(built) == 2
