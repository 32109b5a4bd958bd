"""External check of the stress index (issue 12): the correlation of the weekly index with the St.
Louis Fed Financial Stress Index (STLFSI4, ../shared/data/real/markets) by period, and the ranks of
Russia's crisis years in the Laeven-Valencia (2012) list and the BFFS database (Harvard Business
School, after Reinhart-Rogoff; ../shared/data/real/crises).

    python benchmarks/bench_external.py            # print the check
    python benchmarks/bench_external.py --write    # and put it into docs/indicators.md
    python benchmarks/bench_external.py --check    # exit 1 when docs/indicators.md says otherwise

Indices: "index" = `stresswatch.indicators.composite` on the real-only store as of 2026-08-20
(`tests/fakes/indicators_real.replay_store`; `--store` to reuse one), "before" = the formula before
issue 12 (CISS λ = 0.93, burn-in 250; `benchmarks/index_table.before_issue_12`) on the same measures.
Weekly index = mean of the daily index over the week ending Friday (STLFSI4 is dated on Fridays).
Correlations: Pearson and Spearman on levels over the weeks both exist. Crisis-year ranks: complete
calendar years 2001-2025 ranked by the annual mean and by the annual maximum of the weekly index
(1 = most stressed). The BFFS file has two data errors for Russia (`exch_usd` 0 instead of missing
for 1992-1997, 69.721 instead of 60.6569 for 2016; data/real/README.md): the ranks use the crisis
flags only (any non-zero code counts; 1998 is coded 2), and the year-end rates are printed next to
the Bank of Russia's to show the errors.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(HERE))

from index_table import DOC, before_issue_12, load_measures  # noqa: E402

from stresswatch.indicators import composite as cm  # noqa: E402
from tests.fakes.indicators_real import REAL, replay_store  # noqa: E402

warnings.simplefilter("ignore", RuntimeWarning)

BEGIN, END = "<!-- begin: benchmarks/bench_external.py -->", "<!-- end: benchmarks/bench_external.py -->"
PERIODS = [("2001-2007", "2001", "2007"), ("2008-2013", "2008", "2013"), ("2014-2019", "2014", "2019"),
           ("2020-2025", "2020", "2025"), ("2001-2025", "2001", "2025")]
YEARS = list(range(2001, 2026))


def weekly(s: pd.Series) -> pd.Series:
    return s.dropna().resample("W-FRI").mean().dropna()


def stlfsi() -> pd.Series:
    f = pd.read_csv(REAL / "markets" / "fred_STLFSI4_weekly_1993_2025.csv")
    return pd.Series(pd.to_numeric(f["value"], errors="coerce").to_numpy(float),
                     index=pd.to_datetime(f["date"])).dropna()


def laeven_valencia() -> dict[str, list[int]]:
    """Russia's row of the LV (2012) 'all crises' sheet (CR-only line endings, quoted year lists)."""
    text = (REAL / "crises" / "laeven_valencia_2012_all_crises.csv").read_bytes().decode("utf-8", "replace")
    rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n").replace("\r", "\n"))))
    russia = next(r for r in rows if r and r[0].strip() == "Russia")
    return {name.strip(): [int(y) for y in cell.replace(" ", "").split(",") if y.strip().isdigit()]
            for name, cell in zip(rows[0][1:], russia[1:])}


def bffs() -> tuple[dict[str, list[int]], pd.Series, pd.Series]:
    """Russia's BFFS crisis flags (year lists), its year-end `exch_usd` and the 1998 currency code."""
    x = pd.read_excel(REAL / "crises" / "bffs_reinhart_rogoff_global_crisis_data_20160923.xlsx")
    r = x[x["Country"].astype(str).str.strip() == "Russia"].copy()
    r["Year"] = r["Year"].astype(int)
    cols = {"Banking Crisis": "Banking Crisis ", "Systemic Crisis": "Systemic Crisis",
            "Currency Crises": "Currency Crises", "Inflation Crises": "Inflation Crises",
            "Domestic debt default": "Domestic_Debt_In_Default"}
    external = [c for c in x.columns if str(c).startswith("SOVEREIGN EXTERNAL DEBT 1")]
    if external:
        cols["External debt default"] = external[0]
    flags = {label: sorted(r.loc[pd.to_numeric(r[col], errors="coerce").fillna(0) != 0, "Year"].tolist())
             for label, col in cols.items()}
    by_year = r.set_index("Year")
    return flags, pd.to_numeric(by_year["exch_usd"], errors="coerce"), by_year["Currency Crises"]


def cbr_year_end() -> pd.Series:
    """Year-end CBR USD/RUB from the 1992-2024 file (pre-1998 values already in new rubles)."""
    f = pd.read_csv(REAL / "fx" / "cbr_usd_rub_1992_2024.csv")
    usd = pd.Series(f["rate"].to_numpy(float), index=pd.to_datetime(f["date"], format="%m/%d/%Y")).sort_index()
    return usd.groupby(usd.index.year).last()


def report(store: Path) -> str:
    m, _ = load_measures(store)
    idx = {"index": weekly(cm.composite(m).index), "before": weekly(before_issue_12(m))}
    st = stlfsi()
    out = ["Correlation of the weekly index with STLFSI4 (Fridays):", "",
           "| period | weeks | index Pearson | index Spearman | before Pearson | before Spearman |",
           "|---|---|---|---|---|---|"]
    for label, a, b in PERIODS:
        cells, n = [], 0
        for s in idx.values():
            j = pd.concat([s, st], axis=1, join="inner").loc[a:b].dropna()
            n = max(n, len(j))
            cells.append(f"{j.iloc[:, 0].corr(j.iloc[:, 1]):.3f} | {j.iloc[:, 0].corr(j.iloc[:, 1], method='spearman'):.3f}")
        out.append(f"| {label} | {n} | {' | '.join(cells)} |")
    ranks = {}
    for k, s in idx.items():
        y = s[s.index.year.isin(YEARS)]
        ranks[k] = (y.groupby(y.index.year).mean().rank(ascending=False).astype(int),
                    y.groupby(y.index.year).max().rank(ascending=False, method="min").astype(int))
    flags, rates, codes = bffs()
    out += ["", f"Russia's crisis years and their ranks among {YEARS[0]}-{YEARS[-1]} ({len(YEARS)} years) as "
            "rank by annual mean / by annual maximum of the weekly index (1 = most stressed):", "",
            "| source | crisis type | years in 2001-2025: index, before | years before the index (1992-2000) |",
            "|---|---|---|---|"]

    def line(source: str, kind: str, years: list[int]) -> None:
        covered = [y for y in years if y in YEARS]
        earlier = [str(y) for y in years if 1992 <= y < YEARS[0]]
        cells = "; ".join(f"{y}: {ranks['index'][0][y]}/{ranks['index'][1][y]}, "
                          f"{ranks['before'][0][y]}/{ranks['before'][1][y]}" for y in covered) or "–"
        out.append(f"| {source} | {kind} | {cells} | {', '.join(earlier) or '–'} |")

    for kind, years in laeven_valencia().items():
        line("Laeven-Valencia 2012", kind, years)
    for kind, years in flags.items():
        line("BFFS", kind, years)
    out += ["", "BFFS codes the 2008-2014 banking crisis as one spell; its first year is the dated crisis. "
            "Top five years by annual mean: index " + ", ".join(str(y) for y in ranks["index"][0].sort_values().index[:5])
            + "; before " + ", ".join(str(y) for y in ranks["before"][0].sort_values().index[:5]) + "."]
    cbr = cbr_year_end()
    out += ["", f"BFFS `exch_usd` for Russia against the Bank of Russia's year-end USD rate (Currency Crises code for "
            f"1998: {int(codes.get(1998))}, counted as a crisis year):", "", "| year | BFFS | CBR | |", "|---|---|---|---|"]
    for y in (1992, 1996, 1997, 1998, 2014, 2015, 2016):
        b, c = rates.get(y, np.nan), cbr.get(y, np.nan)
        note = ("0 instead of missing" if b == 0 else
                "differs from the CBR year-end" if np.isfinite(b) and np.isfinite(c) and abs(b - c) > 0.01 else "")
        out.append(f"| {y} | {b:.4f} | {c:.4f} | {note} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="the real-only store (built when absent)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the check into docs/indicators.md")
    mode.add_argument("--check", action="store_true", help="exit 1 unless docs/indicators.md has it")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = args.store or replay_store(Path(tmp) / "real.db")
        block = report(store)
    doc = DOC.read_text(encoding="utf-8")
    head, rest = doc.split(BEGIN, 1)
    new = f"{head}{BEGIN}\n{block}\n{END}{rest.split(END, 1)[1]}"
    if args.check:
        ok = new == doc
        print("docs/indicators.md: the external check is what the code computes" if ok else
              "docs/indicators.md: the external check differs; run python benchmarks/bench_external.py --write",
              file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    print(block)
    if args.write:
        DOC.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
