"""The one business-day calendar: business days after `earlier` up to and including `later`."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from stresswatch.bizdays import (business_day_on_or_before, business_days, business_days_between,
                                 previous_business_day)

THU, FRI, SAT, SUN, MON, TUE = (dt.date(2024, 2, 29) + dt.timedelta(days=i) for i in range(6))


def test_weekends_count_the_way_status_and_alerts_both_count_them():
    assert FRI.weekday() == 4 and SAT.weekday() == 5 and MON.weekday() == 0
    assert business_days_between(FRI, SAT) == 0  # nothing was due on Saturday
    assert business_days_between(SAT, MON) == 1  # Monday is one business day after the weekend
    assert business_days_between(FRI, MON) == 1
    assert business_days_between(SAT, SUN) == 0
    assert business_days_between(THU, FRI) == 1
    assert business_days_between(FRI, FRI + dt.timedelta(days=7)) == 5


def test_no_business_days_from_a_date_to_itself_or_backwards():
    assert business_days_between(MON, MON) == 0
    assert business_days_between(TUE, FRI) == 0


def test_previous_business_day_and_on_or_before():
    assert previous_business_day(MON) == FRI
    assert previous_business_day(SAT) == FRI and previous_business_day(SUN) == FRI
    assert previous_business_day(TUE) == MON
    assert business_day_on_or_before(SAT) == FRI and business_day_on_or_before(SUN) == FRI
    assert business_day_on_or_before(MON) == MON


def test_business_days_of_a_range_match_pandas_bdate_range():
    for start in pd.date_range("2024-02-24", "2024-03-05"):
        for end in pd.date_range(start - pd.Timedelta(days=2), "2024-03-12"):
            expected = [d.date() for d in pd.bdate_range(start, end)]
            assert business_days(start.date(), end.date()) == expected, (start, end)
    assert business_days(SAT, SUN) == []
    assert business_days(FRI, MON) == [FRI, MON]
