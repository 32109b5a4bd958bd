"""reports.sections.headline: `add_change`, the change since the previous report (pure: two
headline dicts in, the change fields out); the episodes the headline lists (a real store and fit)."""

from __future__ import annotations

import datetime as dt

import pytest

from stresswatch.regimes.state import regime_state
from stresswatch.reports.sections.headline import add_change, regime_headline
from tests.fakes import report_data as R

PREVIOUS_OBSERVATION = {"date": "2023-08-15", "regime": "stress", "p_stress_filtered": 0.8}


def test_change_against_the_previous_report():
    head = {"available": True, "regime": "stress", "p_stress_filtered": 0.9, "run_asof": "2023-08-16",
            "previous_observation": PREVIOUS_OBSERVATION}
    prev = {"available": True, "date": "2023-08-15", "regime": "calm", "p_stress_filtered": 0.2}
    add_change(head, prev)
    assert head["previous"] == {"date": "2023-08-15", "available": True, "regime": "calm",
                                "p_stress_filtered": 0.2, "basis": "previous report"}
    assert head["p_stress_change"] == pytest.approx(0.7) and head["regime_changed"] is True


def test_without_a_previous_run_the_runs_previous_observation_is_used_and_said():
    head = {"available": True, "regime": "stress", "p_stress_filtered": 0.9, "run_asof": "2023-08-16",
            "previous_observation": PREVIOUS_OBSERVATION}
    add_change(head, {"available": False, "date": "2023-08-15"})
    assert head["previous"]["available"] is True and head["previous"]["regime"] == "stress"
    assert head["previous"]["basis"] == "previous observation of the run as of 2023-08-16 (no run existed on 2023-08-15)"
    assert head["p_stress_change"] == pytest.approx(0.1) and head["regime_changed"] is False


def test_no_run_on_either_day_gives_no_change():
    head = {"available": False, "date": "2023-08-16"}
    add_change(head, {"available": False, "date": "2023-08-15"})
    assert head["previous"]["available"] is False and head["previous"]["basis"] == "previous report"
    assert head["p_stress_change"] is None and head["regime_changed"] is None


def test_the_report_episodes_are_causal_not_backdated_by_the_smoother(filled):
    """The report lists the episodes of the filtered basis (each day's real-time answer, else D's run
    filtered over data up to that day), as `regimes episodes` does by default; the smoothed basis
    uses later days and starts episodes earlier."""
    state = regime_state(filled["store"], filled["settings"], R.REPORT_DAY)
    starts = [e["start"] for e in regime_headline(state, R.REPORT_DAY)["episodes"]]
    filtered = [_day(e.start) for e in state.episodes("filtered")]
    smoothed = [_day(e.start) for e in state.episodes("smoothed")]
    assert starts and starts == filtered
    assert starts != smoothed  # the fake history is one where the smoother backdates a start


def _day(value) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]
