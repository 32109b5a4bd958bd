"""reports.sections.fx: the two depreciation conventions (pure helpers)."""

from __future__ import annotations

import pytest

from stresswatch.reports.sections.fx import pct_change_per_unit, pct_value_change


def test_depreciation_conventions_differ():
    assert pct_change_per_unit(70.34, 101.04) == pytest.approx(43.645, abs=1e-3)
    assert pct_value_change(70.34, 101.04) == pytest.approx(-30.384, abs=1e-3)
    assert pct_change_per_unit(None, 1.0) is None and pct_value_change(1.0, 0.0) is None
