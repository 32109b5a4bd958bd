"""How the stress index is judged against Russia's own history (issue 12): the crisis windows it
must put on top, the calm years it must keep low, and the months it ranks. Pure functions of an
index series; the real-history test, `benchmarks/index_table.py` (the comparison table in
docs/indicators.md) and `benchmarks/bench_external.py` use them.

Criteria, on the published index from 2001 on:
  T  ranking months by their maximum and counting each crisis window once, the top three are the
     windows 2008-09..2009-09, 2014-11..2015-03 and 2022-02..2022-09;
  A  the maximum of August 2023 is above the index's 85th percentile;
  C  the median of each calm year (2017, 2019) is below the index's median.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: crisis windows (first month, last month) that count once in the month ranking
CRISES = {"2008-09": ("2008-09", "2009-09"), "2014-11": ("2014-11", "2015-03"), "2022-02": ("2022-02", "2022-09")}
CALM_YEARS = ("2017", "2019")
#: the stress month that must stand out, and how far
AUGUST_2023 = "2023-08"
AUGUST_2023_QUANTILE = 0.85
FIRST_YEAR = "2001"


@dataclass(frozen=True)
class RankedMonth:
    """A month ranked by its maximum; `window` names the crisis window it stands for ("" = none)."""

    label: str
    month: str
    value: float
    window: str = ""


@dataclass(frozen=True)
class Verdict:
    top: list[RankedMonth]
    top3_ok: bool
    aug23_max: float
    q85: float
    aug23_ok: bool
    median: float
    calm_medians: dict[str, float]
    calm_ok: bool

    @property
    def flags(self) -> str:
        """"TAC" when all three hold; a dot for each that fails."""
        return ("T" if self.top3_ok else "·") + ("A" if self.aug23_ok else "·") + ("C" if self.calm_ok else "·")

    @property
    def ok(self) -> bool:
        return self.top3_ok and self.aug23_ok and self.calm_ok


def window_label(first: str, last: str) -> str:
    return f"[{first}..{last}]"


def month_ranking(index: pd.Series, start: str = FIRST_YEAR, end: str | None = None) -> list[RankedMonth]:
    """Months ranked by their maximum, highest first; the months of a crisis window count once
    (its best month stands for it)."""
    monthly = index[start:end].dropna().resample("MS").max().dropna()
    out, used = [], set()
    for month, value in monthly.sort_values(ascending=False, kind="stable").items():
        key = month.strftime("%Y-%m")
        window = next((window_label(a, b) for a, b in CRISES.values() if a <= key <= b), "")
        label = window or key
        if label in used:
            continue
        used.add(label)
        out.append(RankedMonth(label, key, float(value), window))
    return out


def judge(index: pd.Series) -> Verdict:
    """The three criteria on the index from 2001 on (NaN = not published)."""
    s = index.dropna()[FIRST_YEAR:]
    ranking = month_ranking(s)
    wanted = {window_label(a, b) for a, b in CRISES.values()}
    q85, median = float(s.quantile(AUGUST_2023_QUANTILE)), float(s.median())
    aug23 = float(s[AUGUST_2023].max())
    calm = {year: float(s[year].median()) for year in CALM_YEARS}
    return Verdict(top=ranking[:5], top3_ok={r.label for r in ranking[:3]} == wanted, aug23_max=aug23, q85=q85,
                   aug23_ok=aug23 > q85, median=median, calm_medians=calm,
                   calm_ok=all(v < median for v in calm.values()))
