"""The rule evaluators (alerts.evaluators) against a real store with planted data, run through
`run_alerts` as the daily cycle does."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from stresswatch.alerts.evaluators import eval_keyrate
from stresswatch.alerts.rules import Rule
from stresswatch.alerts.run import read_states, run_alerts
from stresswatch.errors import ConfigError
from stresswatch.fetchers.base import SeriesInfo
from tests.alerts.common import CLOCK, regime_settings
from tests.conftest import settings_for
from tests.fakes.planted import business_days, episode, plant_fx, plant_keyrate, plant_probabilities


def test_probabilities_are_read_as_of_the_run_date(tmp_path, store):
    """A value dated after D (or known after D) must not count on D."""
    s = regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 14), 6)
    plant_probabilities(store, "ruble_rt", episode(days, 3, 5))
    for day in days[:3]:
        ev = run_alerts(store, s, day, CLOCK)
        assert not ev.transitions, day


def test_ruble_move_keyrate_and_percentile_rules(tmp_path, store):
    rules = [{"id": "rub-1d", "kind": "ruble_move", "pct": 5.0, "days": 1, "for_runs": 1, "clear_runs": 1},
             {"id": "keyrate", "kind": "extraordinary_keyrate", "min_change": 2.0, "days": 3, "for_runs": 1},
             {"id": "index-p90", "kind": "index_percentile", "percentile": 0.9, "for_runs": 1, "clear_runs": 1}]
    s = settings_for(tmp_path, **{"alerts.rules": rules})
    days = business_days(dt.date(2022, 2, 21), 8)
    fx = dict(zip(days, [76.7, 80.4, 86.9, 83.5, 93.6, 94.0, 94.5, 95.0]))
    plant_fx(store, fx)
    plant_keyrate(store, dict(zip(days, [9.5, 9.5, 9.5, 9.5, 20.0, 20.0, 20.0, 20.0])))
    idx = pd.Series([0.1] * 30 + [0.2, 0.9], index=pd.bdate_range("2022-01-10", periods=32))
    store.observations.write_derived(SeriesInfo("stress.index", "stress", "stress index", "index", "D"), idx)
    subjects = {}
    for day in days:
        ev = run_alerts(store, s, day, CLOCK)
        subjects[day] = [(a.rule_id, a.state) for a in ev.digest.new_firing + ev.digest.resolved]
    assert ("rub-1d", "firing") in subjects[days[2]]  # 80.4 -> 86.9 = +8.1%
    assert ("rub-1d", "firing") in subjects[days[4]]  # 83.5 -> 93.6 = +12.1% after a resolve
    assert ("rub-1d", "resolved") in subjects[days[3]]
    assert ("keyrate", "firing") in subjects[days[4]]  # 9.5 -> 20, +10.5 pp
    # the key-rate event leaves its window silently (no resolved mail for events)
    assert not any(r == "keyrate" and st != "firing" for d in days for r, st in subjects[d])
    index_state = [a for a in read_states(store).values() if a.rule_id == "index-p90"]
    assert index_state and index_state[0].state in ("firing", "resolved", "inactive")
    firing_days = [d for d in days if ("index-p90", "firing") in subjects[d]]
    assert firing_days == [days[0]]  # 0.9 at 2022-02-22 is the top of its history known then


def test_a_run_without_a_new_observation_does_not_count_twice(tmp_path, store):
    """Two runs that see the same single high value (e.g. Friday's and Monday's run after one
    Saturday fixing) leave the regime alert pending; the next high observation fires it."""
    s = regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 21), 6)
    probs = episode(days, 2, 5).drop([pd.Timestamp(days[3])])  # no observation dated days[3]
    plant_probabilities(store, "ruble_rt", probs)
    states = []
    for day in days[2:5]:
        run_alerts(store, s, day, CLOCK)
        states.append(next(iter(read_states(store).values())).state)
    assert states == ["pending", "pending", "firing"]


def test_keyrate_rule_raises_a_config_error_for_an_unreadable_meeting_schedule(tmp_path, store):
    """Without the schedule the rule cannot tell an unscheduled decision from a scheduled one: it
    raises, naming the file, instead of judging by size alone."""
    broken = tmp_path / "meetings.toml"
    broken.write_text("covered_until = [not toml\n", encoding="utf-8")
    s = settings_for(tmp_path, **{"compute.meetings": str(broken)})
    days = business_days(dt.date(2022, 2, 21), 5)
    plant_keyrate(store, dict(zip(days, [9.5, 9.5, 9.5, 9.5, 20.0])))
    rule = Rule("keyrate", "extraordinary_keyrate", min_change=2.0, days=3, for_runs=1)
    with pytest.raises(ConfigError, match="meeting schedule .*meetings.toml"):
        eval_keyrate(rule, store, s, days[4])
    # the same rule with the shipped schedule flags the +10.5 pp decision
    shipped = eval_keyrate(rule, store, settings_for(tmp_path), days[4])
    assert [sig.labels["decision"] for sig in shipped] == [days[4].isoformat()] and shipped[0].high
