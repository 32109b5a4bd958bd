"""When an empty window is a hole (the partition fails and is asked again) and when it is not."""

from __future__ import annotations

import datetime as dt

from stresswatch.coverage import coverage_problem
from stresswatch.fetchers.base import SeriesInfo

JP = SeriesInfo("bis.cbpol.JP", "bis", "Japan", "percent", "D", 0)
USD = SeriesInfo("cbr.fx.USD", "cbr", "USD", "RUB", "D", 0)
YEAR_2014 = (dt.date(2014, 1, 1), dt.date(2014, 12, 31))
FETCHED = dt.date(2022, 3, 1)


def test_a_series_that_stopped_while_the_source_answers_for_the_others_is_not_a_hole():
    # BIS stopped Japan's daily policy rate on 2013-04-03; its other areas go on
    problem = coverage_problem(JP, YEAR_2014, FETCHED, [], dt.date(2013, 4, 3), None, 25, source_alive=True)
    assert problem is None


def test_a_wholly_empty_answer_is_a_hole_even_for_that_series():
    problem = coverage_problem(JP, YEAR_2014, FETCHED, [], dt.date(2013, 4, 3), None, 25, source_alive=False)
    assert problem == "bis.cbpol.JP: no values for 2014-01-01..2014-12-31 (last stored 2013-04-03); will ask again"


def test_a_series_alive_when_the_window_starts_must_come_back():
    problem = coverage_problem(JP, YEAR_2014, FETCHED, [], dt.date(2013, 12, 30), None, 25, source_alive=True)
    assert problem is not None and "no values for 2014-01-01..2014-12-31" in problem


def test_a_series_published_continuously_is_never_excused():
    # the Bank of Russia has fixed USD every business day since 1992
    problem = coverage_problem(USD, YEAR_2014, FETCHED, [], dt.date(2013, 4, 3), dt.date(1992, 7, 1), 5,
                               source_alive=True)
    assert problem is not None
