"""Alert rows: states round-trip, history newest first, silences by date."""

import dataclasses
import datetime as dt

from stresswatch.store.alerts import AlertStateRow


def state(fp: str, rule: str, st: str = "firing", **kw) -> AlertStateRow:
    base = dict(fingerprint=fp, rule_id=rule, labels={"model": "ruble3", "a": "ü"}, state=st, high_count=2,
                low_count=0, pending_since="2022-02-24", firing_since="2022-02-25", resolved_on=None,
                last_eval_date="2022-02-25", last_value=0.93, summary="P(stress) 0.93", muted_by=None,
                notified_state="firing", last_notified_date="2022-02-25")
    base.update(kw)
    return AlertStateRow(**base)


def test_states_round_trip_and_update_in_place(store):
    store.alerts.save_states([state("f2", "z-rule"), state("f1", "a-rule", "pending")], "2022-02-25T08:00:00Z")
    assert [s.rule_id for s in store.alerts.states()] == ["a-rule", "z-rule"]
    store.alerts.save_states([state("f2", "z-rule", "resolved", resolved_on="2022-03-10")], "2022-03-10T08:00:00Z")
    got = {s.fingerprint: s for s in store.alerts.states()}
    assert got["f2"] == state("f2", "z-rule", "resolved", resolved_on="2022-03-10")
    assert dataclasses.asdict(got["f1"])["labels"] == {"a": "ü", "model": "ruble3"}


def test_history_and_silences(store):
    for day, to in [(dt.date(2022, 2, 24), "pending"), (dt.date(2022, 2, 25), "firing")]:
        store.alerts.record_change(fingerprint="f", rule_id="r", labels={"b": "2", "a": "1"}, run_date=day,
                                   from_state="inactive", to_state=to, value=0.9, summary="s",
                                   recorded_at="2022-02-25T08:00:00Z")
    rows = store.alerts.history()
    assert [r["to_state"] for r in rows] == ["firing", "pending"] and rows[0]["labels"] == '{"a": "1", "b": "2"}'
    assert len(store.alerts.history("r", limit=1)) == 1 and store.alerts.history("other") == []
    sid = store.alerts.add_silence("r", dt.date(2022, 3, 1), dt.date(2022, 3, 5), "2022-02-28T00:00:00Z", "me")
    assert store.alerts.silences()[0]["id"] == sid
    assert store.alerts.silenced_rules(dt.date(2022, 3, 5)) == {"r"}
    assert store.alerts.silenced_rules(dt.date(2022, 3, 6)) == set()
    assert store.alerts.silenced_until(dt.date(2022, 3, 2)) == {"r": "2022-03-05"}
    assert store.alerts.silenced_until(dt.date(2022, 3, 6)) == {}
