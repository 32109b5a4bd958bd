"""Alert rules and the state machine, evaluated against a real store with planted data."""

from __future__ import annotations

import datetime as dt

import pytest

from stresswatch import alerts
from stresswatch.alerts import AlertState, Rule, Signal, advance, fingerprint, plan_digest
from stresswatch.errors import ConfigError, UsageError
from tests.conftest import settings_for
from tests.fakes.planted import business_days, episode, plant_fx, plant_keyrate, plant_probabilities

CLOCK = lambda: dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)  # noqa: E731 - wall clock never matters


def _sig(high: bool, low: bool, value: float = 0.0) -> Signal:
    return Signal("r", {"model": "m"}, value, high, low, f"value {value}")


def test_fingerprint_is_rule_plus_sorted_labels():
    a = fingerprint("stress-regime", {"model": "ruble3", "x": "1"})
    assert a == fingerprint("stress-regime", {"x": "1", "model": "ruble3"})
    assert a != fingerprint("stress-regime", {"model": "index2"})
    assert a != fingerprint("other", {"model": "ruble3", "x": "1"})
    assert len(a) == 64


def test_state_machine_pending_firing_hysteresis_resolved():
    rule = Rule("r", "regime", enter=0.5, exit=0.3, for_runs=2, clear_runs=2)
    st = AlertState(fingerprint("r", {"model": "m"}), "r", {"model": "m"})
    days = business_days(dt.date(2022, 2, 21), 12)
    path = []
    # high, high, mid (between exit and enter: stays firing), low, mid (resets the low count), low, low
    for day, (high, low) in zip(days, [(True, False), (True, False), (False, False), (False, True),
                                       (False, False), (False, True), (False, True), (False, True)]):
        st = advance(st, _sig(high, low), rule, day)
        path.append(st.state)
    assert path == ["pending", "firing", "firing", "firing", "firing", "firing", "resolved", "inactive"]
    assert st.firing_since is None or st.firing_since == days[1].isoformat()


def test_pending_falls_back_to_inactive_and_muted_holds_state():
    rule = Rule("r", "regime", for_runs=3, clear_runs=1)
    st = AlertState("fp", "r", {})
    day = dt.date(2022, 3, 1)
    st = advance(st, _sig(True, False), rule, day)
    assert st.state == "pending"
    st = advance(st, _sig(False, True), rule, day + dt.timedelta(days=1))
    assert st.state == "inactive" and st.high_count == 0
    firing = AlertState("fp", "r", {}, state="firing", firing_since="2022-03-01")
    held = advance(firing, _sig(False, True), rule, day, muted_by="cbr-stale: no data")
    assert held.state == "firing" and held.muted_by.startswith("cbr-stale")
    nodata = advance(firing, Signal("r", {}, None, False, False, "x", nodata=True), rule, day)
    assert nodata.state == "firing"


def test_digest_notifies_changes_only_and_respects_silences_and_repeat():
    rules = {"r": Rule("r", "regime")}
    day = dt.date(2022, 3, 1)
    firing = AlertState("fp", "r", {"model": "m"}, state="firing", firing_since="2022-03-01", summary="P 0.9")
    digest, updated = plan_digest([firing], rules, day, set(), 0, True)
    assert [a.fingerprint for a in digest.new_firing] == ["fp"] and digest.should_send
    assert "FIRING r" in digest.subject()
    # notified: the same state the next day sends nothing (repeat off)
    digest2, _ = plan_digest(updated, rules, day + dt.timedelta(days=1), set(), 0, True)
    assert not digest2.should_send and len(digest2.firing) == 1
    # repeat interval of 7 days
    digest3, _ = plan_digest(updated, rules, day + dt.timedelta(days=7), set(), 7, True)
    assert len(digest3.repeated) == 1
    # silenced: nothing, and the notification log is untouched so it is notified after the silence
    digest4, upd4 = plan_digest([firing], rules, day, {"r"}, 0, True)
    assert not digest4.should_send and upd4[0].notified_state is None
    resolved = AlertState("fp", "r", {"model": "m"}, state="resolved", notified_state="firing")
    digest5, upd5 = plan_digest([resolved], rules, day, set(), 0, True)
    assert len(digest5.resolved) == 1 and upd5[0].notified_state == "resolved"
    assert "RESOLVED r" in digest5.subject()
    digest6, _ = plan_digest([resolved], rules, day, set(), 0, False)
    assert not digest6.should_send


def test_rules_config_defaults_and_errors(tmp_path):
    s = settings_for(tmp_path)
    rules = alerts.load_rules(s)
    assert {r.kind for r in rules} == {"regime", "source_stale"}
    assert next(r for r in rules if r.kind == "regime").model == ""  # the headline, resolved per run date
    bad = settings_for(tmp_path, **{"alerts.rules": [{"id": "x", "kind": "regime", "enter": 0.2, "exit": 0.5}]})
    with pytest.raises(ConfigError, match="exit"):
        alerts.load_rules(bad)
    dup = settings_for(tmp_path, **{"alerts.rules": [{"id": "x", "kind": "ruble_move"},
                                                     {"id": "x", "kind": "ruble_move"}]})
    with pytest.raises(ConfigError, match="duplicate"):
        alerts.load_rules(dup)
    with pytest.raises(ConfigError, match="source"):
        alerts.load_rules(settings_for(tmp_path, **{"alerts.rules": [{"id": "s", "kind": "source_stale"}]}))


def _regime_settings(tmp_path, **extra):
    rules = [{"id": "stress-regime", "kind": "regime", "model": "ruble3", "enter": 0.5, "exit": 0.3,
              "for_runs": 2, "clear_runs": 2}]
    return settings_for(tmp_path, **{"alerts.rules": rules, **extra})


def test_regime_rule_over_planted_episode_one_firing_one_resolved(tmp_path, store):
    s = _regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 14), 20)
    plant_probabilities(store, "ruble3", episode(days, 5, 11))
    digests = []
    for day in days:
        ev = alerts.run_alerts(store, s, day, CLOCK)
        if ev.digest.should_send:
            digests.append((day, ev.digest.subject()))
    assert [d for d, _ in digests] == [days[6], days[13]]
    assert "FIRING stress-regime" in digests[0][1] and "RESOLVED stress-regime" in digests[1][1]
    hist = alerts.history(store)
    assert [(h["from_state"], h["to_state"]) for h in reversed(hist)] == [
        ("inactive", "pending"), ("pending", "firing"), ("firing", "resolved"), ("resolved", "inactive")]
    # evaluating an earlier date again changes nothing
    before = alerts.read_states(store)
    ev = alerts.run_alerts(store, s, days[8], CLOCK)
    assert not ev.transitions and not ev.digest.should_send
    assert alerts.read_states(store) == before


def test_probabilities_are_read_as_of_the_run_date(tmp_path, store):
    """A value dated after D (or known after D) must not count on D."""
    s = _regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 14), 6)
    plant_probabilities(store, "ruble3", episode(days, 3, 5))
    for day in days[:3]:
        ev = alerts.run_alerts(store, s, day, CLOCK)
        assert not ev.transitions, day


def test_stale_source_mutes_model_alert_instead_of_clearing_it(tmp_path, store):
    rules = [{"id": "stress-regime", "kind": "regime", "model": "ruble3", "for_runs": 1, "clear_runs": 1},
             {"id": "cbr-stale", "kind": "source_stale", "source": "cbr", "days": 3, "for_runs": 1,
              "clear_runs": 1}]
    s = settings_for(tmp_path, **{"alerts.rules": rules,
                                  "regimes.models": [{"id": "ruble3", "series": "cbr.fx.USD"}]})
    days = business_days(dt.date(2022, 3, 1), 12)
    plant_fx(store, {d: 100.0 + i for i, d in enumerate(days[:3])})  # cbr data stop after day 3
    # high while data flow, nothing for four days, then "low" values computed without new cbr data
    probs = episode(days, 0, 2)
    probs = probs.drop(probs.index[3:7])
    plant_probabilities(store, "ruble3", probs)
    states = []
    for day in days:
        alerts.run_alerts(store, s, day, CLOCK)
        st = {a.rule_id: a for a in alerts.read_states(store).values()}
        states.append((st["stress-regime"].state, st["cbr-stale"].state, bool(st["stress-regime"].muted_by)))
    # firing from day 0; cbr stale after 3 business days without data -> the regime alert is held
    assert states[0][0] == "firing"
    assert states[5][:2] == ("firing", "inactive")
    assert states[7] == ("firing", "firing", True)
    assert all(s_[0] == "firing" for s_ in states), states
    listed = alerts.list_alerts(store, s)
    assert {r["rule"] for r in listed} == {"stress-regime", "cbr-stale"}


def test_ruble_move_keyrate_and_percentile_rules(tmp_path, store):
    rules = [{"id": "rub-1d", "kind": "ruble_move", "pct": 5.0, "days": 1, "for_runs": 1, "clear_runs": 1},
             {"id": "keyrate", "kind": "extraordinary_keyrate", "min_change": 2.0, "days": 3, "for_runs": 1},
             {"id": "index-p90", "kind": "index_percentile", "percentile": 0.9, "for_runs": 1, "clear_runs": 1}]
    s = settings_for(tmp_path, **{"alerts.rules": rules})
    days = business_days(dt.date(2022, 2, 21), 8)
    fx = dict(zip(days, [76.7, 80.4, 86.9, 83.5, 93.6, 94.0, 94.5, 95.0]))
    plant_fx(store, fx)
    plant_keyrate(store, dict(zip(days, [9.5, 9.5, 9.5, 9.5, 20.0, 20.0, 20.0, 20.0])))
    from stresswatch.fetchers.base import SeriesInfo
    import pandas as pd

    idx = pd.Series([0.1] * 30 + [0.2, 0.9], index=pd.bdate_range("2022-01-10", periods=32))
    store.observations.write_derived(SeriesInfo("stress.index", "stress", "stress index", "index", "D"), idx)
    subjects = {}
    for day in days:
        ev = alerts.run_alerts(store, s, day, CLOCK)
        subjects[day] = [(a.rule_id, a.state) for a in ev.digest.new_firing + ev.digest.resolved]
    assert ("rub-1d", "firing") in subjects[days[2]]  # 80.4 -> 86.9 = +8.1%
    assert ("rub-1d", "firing") in subjects[days[4]]  # 83.5 -> 93.6 = +12.1% after a resolve
    assert ("rub-1d", "resolved") in subjects[days[3]]
    assert ("keyrate", "firing") in subjects[days[4]]  # 9.5 -> 20, +10.5 pp
    # the key-rate event leaves its window silently (no resolved mail for events)
    assert not any(r == "keyrate" and st != "firing" for d in days for r, st in subjects[d])
    index_state = [a for a in alerts.read_states(store).values() if a.rule_id == "index-p90"]
    assert index_state and index_state[0].state in ("firing", "resolved", "inactive")
    firing_days = [d for d in days if ("index-p90", "firing") in subjects[d]]
    assert firing_days == [days[0]]  # 0.9 at 2022-02-22 is the top of its history known then


def test_silence_command_validation(tmp_path, store):
    s = _regime_settings(tmp_path)
    with pytest.raises(UsageError, match="no alert rule"):
        alerts.add_silence(store, "nope", dt.date(2022, 3, 1), dt.date(2022, 2, 1), CLOCK,
                           known_rules=[r.id for r in alerts.load_rules(s)])
    with pytest.raises(UsageError, match="before"):
        alerts.add_silence(store, "stress-regime", dt.date(2022, 1, 1), dt.date(2022, 2, 1), CLOCK)
    alerts.add_silence(store, "stress-regime", dt.date(2022, 3, 1), dt.date(2022, 2, 1), CLOCK)
    assert alerts.active_silences(store, dt.date(2022, 3, 1)) == {"stress-regime"}
    assert alerts.active_silences(store, dt.date(2022, 3, 2)) == set()


def test_silenced_alert_is_notified_after_the_silence_ends(tmp_path, store):
    s = _regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 14), 10)
    plant_probabilities(store, "ruble3", episode(days, 0, 9))
    alerts.add_silence(store, "stress-regime", days[3], days[0], CLOCK)
    sent = [d for d in days if alerts.run_alerts(store, s, d, CLOCK).digest.should_send]
    assert sent == [days[4]]


def test_a_run_without_a_new_observation_does_not_count_twice(tmp_path, store):
    """Two runs that see the same single high value (e.g. Friday's and Monday's run after one
    Saturday fixing) leave the regime alert pending; the next high observation fires it."""
    s = _regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 21), 6)
    probs = episode(days, 2, 5).drop([pd_ts(days[3])])  # no observation dated days[3]
    plant_probabilities(store, "ruble3", probs)
    states = []
    for day in days[2:5]:
        alerts.run_alerts(store, s, day, CLOCK)
        states.append(next(iter(alerts.read_states(store).values())).state)
    assert states == ["pending", "pending", "firing"]


def pd_ts(day):
    import pandas as pd

    return pd.Timestamp(day)
