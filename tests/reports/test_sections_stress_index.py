"""reports.sections.stress_index: the recursive percentile (pure helper)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stresswatch.reports.sections.stress_index import recursive_percentile


def test_recursive_percentile_uses_only_the_past():
    s = pd.Series([1.0, 3.0, 2.0, np.nan])
    assert recursive_percentile(s) == pytest.approx(2 / 3)
    assert recursive_percentile(pd.Series(dtype=float)) is None
