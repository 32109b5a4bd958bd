"""reports.sections.rates: key-rate decisions and their extraordinary flag against the shipped
meeting schedule (pure: a series in, rows out)."""

from __future__ import annotations

import pandas as pd

from stresswatch.indicators.rates import load_meetings
from stresswatch.reports.sections.rates import keyrate_decisions


def test_decisions_flag_size_and_schedule():
    s = pd.Series([7.5, 8.5, 8.75, 12.0],
                  index=pd.to_datetime(["2023-06-01", "2023-07-24", "2023-08-03", "2023-08-15"]))
    rows = {r["date"]: r for r in keyrate_decisions(s, load_meetings())}
    assert list(rows) == ["2023-07-24", "2023-08-03", "2023-08-15"]
    # +100 bp taking effect after the 21 July board meeting: a regular decision
    assert (rows["2023-07-24"]["old"], rows["2023-07-24"]["new"], rows["2023-07-24"]["change_bp"]) == (7.5, 8.5, 100)
    assert rows["2023-07-24"]["extraordinary"] is False and rows["2023-07-24"]["reason"] == ""
    # +25 bp with no meeting before it: extraordinary by the schedule
    assert rows["2023-08-03"]["extraordinary"] and rows["2023-08-03"]["reason"] == "outside the meeting schedule"
    # +325 bp: extraordinary by size
    assert rows["2023-08-15"]["change_bp"] == 325 and rows["2023-08-15"]["reason"] == "change of 200 bp or more"
    # the schedule is loaded when not given
    assert keyrate_decisions(s) == list(rows.values())


def test_no_decision_without_two_values():
    assert keyrate_decisions(pd.Series([8.5], index=pd.to_datetime(["2023-07-24"]))) == []
