"""reports.values: the small pure helpers every section uses."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from stresswatch.reports.values import iso, months_before, num, points, value_on_or_before, years_before


def test_value_on_or_before():
    s = pd.Series([1.0, 2.0], index=pd.to_datetime(["2023-01-02", "2023-01-05"]))
    assert value_on_or_before(s, dt.date(2023, 1, 4)) == (dt.date(2023, 1, 2), 1.0)
    assert value_on_or_before(s, dt.date(2023, 1, 5)) == (dt.date(2023, 1, 5), 2.0)
    assert value_on_or_before(s, dt.date(2023, 1, 1)) == (None, None)
    assert value_on_or_before(pd.Series(dtype=float), dt.date(2023, 1, 1)) == (None, None)


def test_num_iso_points_and_offsets():
    assert num("1.5") == 1.5 and num(None) is None and num(float("nan")) is None and num("x") is None
    assert iso(dt.date(2023, 8, 16)) == iso(pd.Timestamp("2023-08-16 10:00")) == iso("2023-08-16T10:00Z") == "2023-08-16"
    assert iso(None) is None
    s = pd.Series([1.0, np.nan, 3.0], index=pd.to_datetime(["2023-01-02", "2023-01-03", "2023-01-04"]))
    assert points(s) == (["2023-01-02", "2023-01-04"], [1.0, 3.0])
    assert years_before(dt.date(2024, 2, 29), 1) == dt.date(2023, 2, 28)
    assert months_before(dt.date(2023, 3, 31), 1) == dt.date(2023, 2, 28)
