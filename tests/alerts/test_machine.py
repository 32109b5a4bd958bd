"""The pure state machine and digest plan (alerts.machine): no store involved."""

from __future__ import annotations

import datetime as dt

from stresswatch.alerts.machine import AlertState, Signal, advance, fingerprint, plan_digest
from stresswatch.alerts.rules import Rule
from tests.fakes.planted import business_days


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
