"""One alert run (alerts.run): states, history and the digest stored together; muting by stale
sources; silences; a rule that cannot be evaluated fails loudly without hiding the others."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest

from stresswatch.app import daily
from stresswatch.alerts.run import active_silences, add_silence, history, list_alerts, read_states, run_alerts
from stresswatch.alerts.rules import load_rules
from stresswatch.errors import AlertRuleError, UsageError
from tests.alerts.common import CLOCK, regime_settings
from tests.conftest import settings_for
from tests.fakes.planted import business_days, episode, plant_fx, plant_keyrate, plant_probabilities


def test_regime_rule_over_planted_episode_one_firing_one_resolved(tmp_path, store):
    s = regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 14), 20)
    plant_probabilities(store, "ruble_rt", episode(days, 5, 11))
    digests = []
    for day in days:
        ev = run_alerts(store, s, day, CLOCK)
        if ev.digest.should_send:
            digests.append((day, ev.digest.subject()))
    assert [d for d, _ in digests] == [days[6], days[13]]
    assert "FIRING stress-regime" in digests[0][1] and "RESOLVED stress-regime" in digests[1][1]
    hist = history(store)
    assert [(h["from_state"], h["to_state"]) for h in reversed(hist)] == [
        ("inactive", "pending"), ("pending", "firing"), ("firing", "resolved"), ("resolved", "inactive")]
    # evaluating an earlier date again changes nothing
    before = read_states(store)
    ev = run_alerts(store, s, days[8], CLOCK)
    assert not ev.transitions and not ev.digest.should_send
    assert read_states(store) == before


def test_stale_source_mutes_model_alert_instead_of_clearing_it(tmp_path, store):
    rules = [{"id": "stress-regime", "kind": "regime", "model": "ruble_rt", "for_runs": 1, "clear_runs": 1},
             {"id": "cbr-stale", "kind": "source_stale", "source": "cbr", "days": 3, "for_runs": 1,
              "clear_runs": 1}]
    s = settings_for(tmp_path, **{"alerts.rules": rules,
                                  "regimes.models": [{"id": "ruble_rt", "series": "cbr.fx.USD"}]})
    days = business_days(dt.date(2022, 3, 1), 12)
    plant_fx(store, {d: 100.0 + i for i, d in enumerate(days[:3])})  # cbr data stop after day 3
    # high while data flow, nothing for four days, then "low" values computed without new cbr data
    probs = episode(days, 0, 2)
    probs = probs.drop(probs.index[3:7])
    plant_probabilities(store, "ruble_rt", probs)
    states = []
    for day in days:
        run_alerts(store, s, day, CLOCK)
        st = {a.rule_id: a for a in read_states(store).values()}
        states.append((st["stress-regime"].state, st["cbr-stale"].state, bool(st["stress-regime"].muted_by)))
    # firing from day 0; cbr stale after 3 business days without data -> the regime alert is held
    assert states[0][0] == "firing"
    assert states[5][:2] == ("firing", "inactive")
    assert states[7] == ("firing", "firing", True)
    assert all(s_[0] == "firing" for s_ in states), states
    listed = list_alerts(store, s)
    assert {r["rule"] for r in listed} == {"stress-regime", "cbr-stale"}


def test_silence_command_validation(tmp_path, store):
    s = regime_settings(tmp_path)
    with pytest.raises(UsageError, match="no alert rule"):
        add_silence(store, "nope", dt.date(2022, 3, 1), dt.date(2022, 2, 1), CLOCK,
                    known_rules=[r.id for r in load_rules(s)])
    with pytest.raises(UsageError, match="before"):
        add_silence(store, "stress-regime", dt.date(2022, 1, 1), dt.date(2022, 2, 1), CLOCK)
    add_silence(store, "stress-regime", dt.date(2022, 3, 1), dt.date(2022, 2, 1), CLOCK)
    assert active_silences(store, dt.date(2022, 3, 1)) == {"stress-regime"}
    assert active_silences(store, dt.date(2022, 3, 2)) == set()


def test_silence_error_names_the_problem_not_a_flag(store):
    with pytest.raises(UsageError, match="would end") as info:
        add_silence(store, "stress-regime", dt.date(2022, 1, 1), dt.date(2022, 2, 1), CLOCK)
    assert "--" not in str(info.value)


def test_silenced_alert_is_notified_after_the_silence_ends(tmp_path, store):
    s = regime_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 14), 10)
    plant_probabilities(store, "ruble_rt", episode(days, 0, 9))
    add_silence(store, "stress-regime", days[3], days[0], CLOCK)
    sent = [d for d in days if run_alerts(store, s, d, CLOCK).digest.should_send]
    assert sent == [days[4]]


def _keyrate_settings(tmp_path, meetings: str, **extra):
    rules = [{"id": "keyrate", "kind": "extraordinary_keyrate", "min_change": 2.0, "days": 3, "for_runs": 1},
             {"id": "rub-1d", "kind": "ruble_move", "pct": 5.0, "days": 1, "for_runs": 1, "clear_runs": 1}]
    return settings_for(tmp_path, **{"alerts.rules": rules, "compute.meetings": meetings, **extra})


def test_keyrate_rule_with_a_broken_meeting_schedule_fails_loudly_and_is_recorded(tmp_path, store, caplog):
    """An unreadable meeting schedule used to be logged at DEBUG and the rule silently judged
    decisions by size. Now: a typed error, logged, raised after the other rules were stored,
    recorded by the daily cycle as a failed step; a rerun once the file is fixed evaluates it."""
    broken = tmp_path / "meetings.toml"
    broken.write_text("covered_until = [not toml\n", encoding="utf-8")
    days = business_days(dt.date(2022, 2, 21), 5)
    plant_fx(store, dict(zip(days, [76.7, 80.4, 86.9, 83.5, 93.6])))
    plant_keyrate(store, dict(zip(days, [9.5, 9.5, 9.5, 9.5, 20.0])))  # +10.5 pp: "big" by size alone
    s = _keyrate_settings(tmp_path, str(broken))
    with caplog.at_level(logging.ERROR, logger="stresswatch.alerts.run"):
        with pytest.raises(AlertRuleError) as info:
            run_alerts(store, s, days[4], CLOCK)
    assert list(info.value.failures) == ["keyrate"]
    assert "meeting schedule" in info.value.failures["keyrate"] and "meetings.toml" in str(info.value)
    assert any("keyrate" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    # the other rule was evaluated and stored; no key-rate alert was judged by size
    states = {a.rule_id: a for a in read_states(store).values()}
    assert set(states) == {"rub-1d"} and states["rub-1d"].state == "firing"
    # without raising, the evaluation carries the same failure
    ev = run_alerts(store, s, days[4], CLOCK, raise_on_failure=False)
    assert list(ev.failures) == ["keyrate"] and not ev.transitions

    # the daily cycle records the alerts step as failed, naming the rule and the file
    other = tmp_path / "other"
    other.mkdir()
    from stresswatch.store import Store

    with Store.open(other / "sw.db") as fresh:
        plant_fx(fresh, dict(zip(days, [76.7, 80.4, 86.9, 83.5, 93.6])))
        plant_keyrate(fresh, dict(zip(days, [9.5, 9.5, 9.5, 9.5, 20.0])))
        result = daily.run_day(fresh, _keyrate_settings(other, str(broken), **{"daemon.steps": ["alerts"]}),
                               days[4], CLOCK)
        assert [st.name for st in result.failed] == ["alerts"]
        row = fresh.ledger.get("day:alerts", days[4].isoformat())
        assert row["status"] == "failed" and "keyrate" in row["error"] and "meetings.toml" in row["error"]

    # fixed (the shipped schedule): running the date again evaluates the rule; the others hold
    fixed = _keyrate_settings(tmp_path, "")
    ev = run_alerts(store, fixed, days[4], CLOCK)
    assert not ev.failures
    assert [(prev.state, new.rule_id, new.state) for prev, new in ev.transitions] == [
        ("inactive", "keyrate", "firing")]


def _rerun_settings(tmp_path):
    rules = [{"id": "cbr-stale", "kind": "source_stale", "source": "cbr", "days": 3, "for_runs": 1, "clear_runs": 1},
             {"id": "rub-1d", "kind": "ruble_move", "pct": 5.0, "days": 1, "for_runs": 2, "clear_runs": 1}]
    return settings_for(tmp_path, **{"alerts.rules": rules, "mail.recipients": ["analyst@example.org"],
                                     "report.out": str(tmp_path / "reports")})


def test_reevaluating_a_day_starts_from_the_state_before_it_and_queues_only_news(tmp_path, store):
    """Data for D arrive after D was evaluated: D is evaluated again from the alerts' state before
    D (a count advances once per date), the digest says only what changed since the first one, under
    its own dedup key, and a further re-evaluation with nothing new queues nothing."""
    s = _rerun_settings(tmp_path)
    days = business_days(dt.date(2022, 2, 21), 3)
    day = days[1]
    first = run_alerts(store, s, day, CLOCK)  # no Bank of Russia data yet: stale
    assert first.dedup_key == f"digest:{day}" and first.digest.subject().startswith("[stresswatch] FIRING cbr-stale")
    assert not first.reevaluated

    plant_fx(store, {days[0]: 80.0, day: 88.0})  # +10% on D: the ruble rule is high once
    # an ordinary rerun changes nothing: the data changed, but nobody asked to evaluate D again
    assert not run_alerts(store, s, day, CLOCK).transitions
    again = run_alerts(store, s, day, CLOCK, reevaluate=True)
    assert again.reevaluated
    assert sorted((p.rule_id, p.state, n.state) for p, n in again.transitions) == [
        ("cbr-stale", "firing", "inactive"), ("rub-1d", "inactive", "pending")]
    assert again.queued and again.dedup_key == f"digest:{day}#2"
    assert again.digest.subject() == (f"[stresswatch] RESOLVED cbr-stale: cbr: last observation {day} (0 business "
                                      f"days before {day}; limit 3) ({day}, revised)")
    states = {a.rule_id: a for a in read_states(store).values()}
    assert states["rub-1d"].high_count == 1 and states["cbr-stale"].notified_state == "resolved"

    # evaluating D once more (e.g. `run --force`): the count is not advanced a second time
    third = run_alerts(store, s, day, CLOCK, reevaluate=True)
    assert not third.transitions and not third.queued and not third.digest.should_send
    assert {a.rule_id: a.high_count for a in read_states(store).values()}["rub-1d"] == 1
    assert [r["dedup_key"] for r in store.outbox.rows()] == [f"digest:{day}", f"digest:{day}#2"]

    # the next date counts on from there: the second high fixing in a row fires
    plant_fx(store, {days[2]: 97.0})
    nxt = run_alerts(store, s, days[2], CLOCK)
    assert [(n.rule_id, n.state) for _p, n in nxt.transitions] == [("rub-1d", "firing")]
    assert nxt.dedup_key == f"digest:{days[2]}"

    # D cannot be evaluated again under a later date: the alerts keep their state and say why
    before = read_states(store)
    late = run_alerts(store, s, day, CLOCK, reevaluate=True)
    assert not late.transitions and read_states(store) == before
    assert late.kept and all(f"already evaluated for a later date ({days[2]})" in k for k in late.kept)


def test_alerts_evaluated_before_their_base_was_recorded_are_kept_on_reevaluation(tmp_path, store):
    s = _rerun_settings(tmp_path)
    day = business_days(dt.date(2022, 2, 21), 1)[0]
    run_alerts(store, s, day, CLOCK)
    # a store written before migration 0008 has no base for the date: it cannot be rewound
    rows = store.alerts.states()
    store.alerts.save_states([dataclasses.replace(r, eval_base=None) for r in rows], "2030-01-01T12:00:00Z")
    before = read_states(store)
    ev = run_alerts(store, s, day, CLOCK, reevaluate=True)
    assert read_states(store) == before and not ev.transitions
    assert sorted(ev.kept) == [f"{rule}: its state before {day} was not recorded" for rule in ("cbr-stale", "rub-1d")]
