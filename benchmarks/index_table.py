"""The comparison tables of docs/indicators.md ("How the segments are aggregated"), computed from
code: how 15 ways of aggregating the segments fare on Russia's history (issue 12's criteria,
`stresswatch.indicators.criteria`), burn-in lengths, and the monthly trade measure in or beside
the daily index.

    python benchmarks/index_table.py            # print the tables
    python benchmarks/index_table.py --write    # and put them into docs/indicators.md
    python benchmarks/index_table.py --check    # exit 1 when docs/indicators.md says otherwise

Data: the real-only store (CBR USD/EUR/CNY and key rate, BIS policy rates, FRED Brent, MOEX
IMOEX replayed from ../shared/data/real through the real pipeline, `tests/fakes/indicators_real.
replay_store`) and a copy with the replay's synthetic monthly China-Russia trade, read as of
2026-08-20 with the production reader and measure builder (`stresswatch.compute`). Pass
`--store` / `--trade-store` to reuse stores; otherwise they are built in a temporary folder
(about 15 s). The variants below are research code: only the chosen aggregation lives in
`stresswatch.indicators.composite`, and Table 4 checks that it equals its row of Table 1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stresswatch import settings as settings_mod  # noqa: E402
from stresswatch.compute import Inputs, build_measures, needed_series  # noqa: E402
from stresswatch.indicators import composite as cm  # noqa: E402
from stresswatch.indicators.calendar import business_grid  # noqa: E402
from stresswatch.indicators.criteria import CRISES, judge, month_ranking  # noqa: E402
from stresswatch.indicators.rates import load_meetings  # noqa: E402
from stresswatch.store import Store  # noqa: E402
from tests.fakes.indicators_real import ASOF, TRADE_SOURCES, replay_store  # noqa: E402

warnings.simplefilter("ignore", RuntimeWarning)

DOC = REPO / "docs" / "indicators.md"
BEGIN, END = "<!-- begin: benchmarks/index_table.py -->", "<!-- end: benchmarks/index_table.py -->"
BURN_IN = cm.BURN_IN
#: CISS's λ = 0.93 per week expressed per business day (5 days a week)
LAM_WEEKLY = 0.93 ** 0.2

#: (label, aggregate() keyword arguments, what it needs)
VARIANTS = [
    ("CISS λ=0.93 (the formula before issue 12)", dict(method="ciss", lam=0.93), "EWMA cov, λ"),
    ("CISS λ=0.9856 (0.93 per week)", dict(method="ciss", lam=LAM_WEEKLY), "EWMA cov, λ"),
    ("CISS λ=0.93, ρ≥0", dict(method="ciss", lam=0.93, floor=0.0), "EWMA cov, λ, floor"),
    ("CISS λ=0.93, ρ≥0.5", dict(method="ciss", lam=0.93, floor=0.5), "EWMA cov, λ, floor"),
    ("CISS λ=0.9856, ρ≥0", dict(method="ciss", lam=LAM_WEEKLY, floor=0.0), "EWMA cov, λ, floor"),
    ("normalised CISS λ=0.93, ρ≥0", dict(method="ciss", lam=0.93, floor=0.0, normalise=True), "EWMA cov, λ, floor"),
    ("normalised CISS λ=0.97, ρ≥0", dict(method="ciss", lam=0.97, floor=0.0, normalise=True), "EWMA cov, λ, floor"),
    ("normalised CISS λ=0.9856, ρ≥0", dict(method="ciss", lam=LAM_WEEKLY, floor=0.0, normalise=True),
     "EWMA cov, λ, floor"),
    ("mean of segments (p=1; = CISS with ρ≡1)", dict(method="mean"), "none"),
    ("**mean of squared segments (p=2; = K·CISS with ρ≡0)**", dict(method="msq"), "none"),
    ("power mean p=3", dict(method="pmean", p=3.0), "p"),
    ("power mean p=4", dict(method="pmean", p=4.0), "p"),
    ("max of segments (p=∞)", dict(method="max"), "none"),
    ("mean of the two highest segments", dict(method="top2"), "none"),
]
CHOSEN = dict(method="msq")
KEY_DATES = ("2008-12-15", "2014-12-17", "2015-01-30", "2017-06-15", "2019-06-14", "2020-03-18", "2022-03-15",
             "2023-08-15", "2024-11-27")


# ---------------------------------------------------------------------------------------------
# the aggregations compared (research code)
# ---------------------------------------------------------------------------------------------
def ranks(measures: dict[str, pd.DataFrame], burn_in: int = BURN_IN, prior: float = 0.0,
          segments: tuple[str, ...] = cm.SEGMENTS) -> pd.DataFrame:
    """Segment scores: mean of the recursive ranks of their measures. `prior` > 0 shrinks a rank
    from n observations towards 0.5 with `prior` pseudo-observations: (n z + prior/2)/(n + prior)."""
    segs = {}
    for name, frame in measures.items():
        if name not in segments:
            continue
        cols = {}
        for c in frame.columns:
            z = cm.recursive_ecdf(frame[c], burn_in)
            if prior > 0:
                n = frame[c].notna().cumsum()
                z = (n * z + prior / 2.0) / (n + prior)
            cols[c] = z
        segs[name] = pd.DataFrame(cols).mean(axis=1, skipna=True)
    df = pd.DataFrame(segs)
    return df[[s for s in segments if s in df.columns]]


def ewma_corr(S: np.ndarray, lam: float) -> np.ndarray:
    """T×K×K EWMA correlations of S − 0.5 (uncentred, as CISS), bias-corrected start."""
    T, K = S.shape
    St = S - 0.5
    cov = np.empty((T, K, K))
    for i in range(K):
        for j in range(i, K):
            ew = pd.Series(St[:, i] * St[:, j]).ewm(alpha=1 - lam, adjust=True, ignore_na=True).mean().to_numpy()
            cov[:, i, j] = cov[:, j, i] = ew
    d = np.sqrt(np.clip(np.einsum("tii->ti", cov), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        C = cov / (d[:, :, None] * d[:, None, :])
    C = np.clip(np.nan_to_num(C, nan=0.0), -1, 1)
    idx = np.arange(K)
    C[:, idx, idx] = 1.0
    return C


def aggregate(segs: pd.DataFrame, method: str, lam: float = 0.93, floor: float | None = None,
              normalise: bool = False, p: float = 2.0) -> pd.Series:
    """Index from segment scores, weights equal over the segments present each day.
    ciss: (w∘s)ᵀ C (w∘s) with EWMA correlations (λ), optional floor on ρ and normalisation by
    wᵀCw; mean: Σ w s; msq: Σ w s²; max; pmean: (Σ w s^p)^(1/p); top2: mean of the two highest."""
    S = segs.to_numpy(float)
    present = ~np.isnan(S)
    w = present / np.maximum(present.sum(axis=1, keepdims=True), 1)
    s0 = np.nan_to_num(S)
    if method == "ciss":
        C = ewma_corr(S, lam)
        if floor is not None:
            C = np.maximum(C, floor)
        ws = w * s0
        v = np.einsum("ti,tij,tj->t", ws, C, ws)
        if normalise:
            v = v / np.einsum("ti,tij,tj->t", w, C, w)
    elif method == "mean":
        v = (w * s0).sum(axis=1)
    elif method == "msq":
        v = (w * s0 ** 2).sum(axis=1)
    elif method == "max":
        v = np.nanmax(np.where(present, S, -np.inf), axis=1)
    elif method == "pmean":
        v = (w * s0 ** p).sum(axis=1) ** (1 / p)
    elif method == "top2":
        v = (-np.sort(-np.where(present, S, -np.inf), axis=1))[:, :2].mean(axis=1)
    else:
        raise ValueError(method)
    return pd.Series(np.where(present.any(axis=1), v, np.nan), index=segs.index)


def before_issue_12(measures: dict[str, pd.DataFrame], lam: float = 0.93, burn_in: int = 250,
                    warmup: int = 20) -> pd.Series:
    """The index as computed before issue 12: CISS with λ = 0.93, burn-in 250, every segment
    (trade included) weighted once it has `warmup` ranked days, no publication rule."""
    segs = ranks(measures, burn_in, segments=cm.SEGMENTS + cm.BESIDE)
    S = segs.to_numpy(float)
    active = ~np.isnan(S) & (np.cumsum(~np.isnan(S), axis=0) >= warmup)
    C = ewma_corr(S, lam)
    w = active / np.maximum(active.sum(axis=1, keepdims=True), 1)
    ws = w * np.nan_to_num(S)
    v = np.einsum("ti,tij,tj->t", ws, C, ws)
    return pd.Series(np.where(active.any(axis=1), v, np.nan), index=segs.index)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def load_measures(store_path: Path) -> tuple[dict[str, pd.DataFrame], Inputs]:
    with Store.open(store_path) as store:
        lags = store.observations.series_lags(("cbr.", "bis.", "fred.", "moex.", "imf.", "comtrade."))
        inputs = Inputs.from_store(store, ASOF, needed_series(lags))
    grid = business_grid(settings_mod.defaults()["compute"]["start"], pd.Timestamp(ASOF))
    return build_measures(inputs, grid, {"meetings": load_meetings(), "asof": pd.Timestamp(ASOF)}), inputs


def drop(ms: dict, pattern: str) -> dict:
    out = {}
    for k, f in ms.items():
        g = f[[c for c in f.columns if pattern not in c]]
        if g.shape[1]:
            out[k] = g
    return out


def perturbations(m: dict) -> dict[str, tuple[dict, int]]:
    """Changes of the inputs (not of the aggregation) under which the criteria should still hold."""
    p: dict[str, tuple[dict, int]] = {}
    for pat in ("fx.rv20", "fx.cmax", "fx.dep", "policy.tightening", "policy.change_1m_abs", "imoex.rv20",
                "imoex.cmax", "brent.rv20", "brent.cmax"):
        p["without " + pat] = (drop(m, pat), BURN_IN)
    p["USD only"] = (drop(drop(m, ".EUR"), ".CNY"), BURN_IN)
    p["without equity"] = ({k: v for k, v in m.items() if k != "equity"}, BURN_IN)
    p["without external"] = ({k: v for k, v in m.items() if k != "external"}, BURN_IN)
    p["burn-in 250"] = (m, 250)
    p["burn-in 750"] = (m, 750)
    return p


def pct_in(s: pd.Series, v: float) -> float:
    """Share of the index's 2001-2026 values below v (its percentile in the published history)."""
    s = s["2001":].dropna()
    return float((s < v).mean())


def describe(idx: pd.Series) -> dict:
    s = idx["2001":].dropna()
    verdict = judge(s)
    rank = month_ranking(s)
    crisis = sorted((r for r in rank if r.window), key=lambda r: -r.value)
    third = crisis[2] if len(crisis) >= 3 else None
    fourth = next((r for r in rank if not r.window), None)
    pos2010 = next((i + 1 for i, r in enumerate(rank) if r.month == "2010-06"), None)
    dec14 = s["2014-12"].max()
    return {
        "flags": verdict.flags, "top3": ", ".join(r.month for r in rank[:3]),
        "third": f"{third.window[1:8]} {third.value:.3f}" if third else "–",
        "fourth": f"{fourth.month} {fourth.value:.3f}" if fourth else "–", "rank2010": pos2010,
        "dec14": f"{dec14:.3f} ({pct_in(s, dec14):.3f})", "aug23": f"{pct_in(s, verdict.aug23_max):.3f}",
        "calm": " / ".join(f"{pct_in(s, v):.2f}" for v in verdict.calm_medians.values()),
        "noise": float(s.diff().abs().mean() / s.std()),
    }


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------
def table_aggregation(m: dict, mt: dict, before: pd.Series, before_trade: pd.Series) -> str:
    segs, segs_trade = ranks(m), ranks(mt, segments=cm.SEGMENTS + cm.BESIDE)
    pert = {k: ranks(ms, b) for k, (ms, b) in perturbations(m).items()}
    lines = ["| variant | criteria T A C | top 3 | 3rd crisis max | 4th month max | 2010-06 rank | "
             "Dec 2014 max (pct) | Aug 2023 max pct (>0.85) | 2017 / 2019 median pct (<0.5) | "
             f"robust (of {len(pert)}) | with trade | roughness | needs |", "|" + "---|" * 13]

    def row(label, d, robust, trade_flags, needs):
        lines.append(f"| {label} | {d['flags']} | {d['top3']} | {d['third']} | {d['fourth']} | {d['rank2010']} | "
                     f"{d['dec14']} | {d['aug23']} | {d['calm']} | {robust} | {trade_flags} | {d['noise']:.3f} | "
                     f"{needs} |")

    row("before issue 12: CISS λ=0.93, burn-in 250, trade inside", describe(before), "–",
        judge(before_trade).flags, "EWMA cov, λ")
    for label, kw, needs in VARIANTS:
        robust = sum(judge(aggregate(s, **kw)).ok for s in pert.values())
        row(label, describe(aggregate(segs, **kw)), robust, judge(aggregate(segs_trade, **kw)).flags, needs)
    lines += ["", "Burn-in 500 for every variant but the first. Criteria T A C as in "
              "`stresswatch.indicators.criteria` (a dot = fails). top 3 = the best month of the three highest-ranked "
              "windows or months. 3rd crisis max = the lowest of the three crisis windows' maxima; 4th month max = "
              "the highest month outside them (the margin is the gap between the two). 2010-06 rank = rank of June "
              "2010 (a non-event). pct = share of the variant's own 2001-2026 values below the number. robust = "
              f"perturbations of the inputs ({', '.join(pert)}) under which T, A and C all hold. with trade = the "
              "criteria when the replay's synthetic monthly trade joins as a fifth segment. roughness = mean "
              "|daily change| / standard deviation. The criteria are invariant under increasing transforms, so "
              "CISS with C = I (ρ ≡ 0) ranks like the mean of squares."]
    return "\n".join(lines)


def table_burn_in(m: dict) -> str:
    lines = ["| burn-in B (business days) | prior k | first value | max in first 12 months (date) | its pct in "
             "2003-2026 | rank revision after 5 more years | criteria T A C |", "|" + "---|" * 7]
    raw = pd.concat(m.values(), axis=1)
    for B in (250, 500, 750, 1000):
        for prior in (0, 250):
            segs = ranks(m, B, prior=prior)
            idx = aggregate(segs, **CHOSEN).where(segs.notna().all(axis=1).cummax())  # once all four are ranked
            first = idx.first_valid_index()
            yr1 = idx[first: first + pd.DateOffset(years=1)]
            ref = idx["2003":].dropna()
            devs = []
            for c in raw.columns:
                if "CNY" in c:
                    continue
                x = raw[c]
                z = cm.recursive_ecdf(x, B)
                n = x.notna().cumsum()
                if prior:
                    z = (n * z + prior / 2) / (n + prior)
                f = z.first_valid_index()
                window = z[f: f + pd.DateOffset(years=1)].dropna()
                later = x[: f + pd.DateOffset(years=6)].dropna()
                zl = later.rank(pct=True)
                if prior:
                    zl = (len(later) * zl + prior / 2) / (len(later) + prior)
                devs.append((window - zl.reindex(window.index)).abs().mean())
            lines.append(f"| {B} | {prior} | {first.date()} | {yr1.max():.3f} ({yr1.idxmax().date()}) | "
                         f"{(ref < yr1.max()).mean():.3f} | {np.mean(devs):.3f} | {judge(idx).flags} |")
    lines += ["", "Index = the mean of squared segments, from the first day all four segments are ranked. prior k: "
              "ranks shrunk towards 0.5 with k pseudo-observations, z' = (n z + k/2)/(n + k) (rejected: a bias of "
              "k/(n+k) that lasts for years). rank revision = mean |rank against x_1..x_t − rank against "
              "x_1..x_(t+5 years)| over each measure's first ranked year: the error an early rank carries."]
    return "\n".join(lines)


def table_trade(m: dict, mt: dict, before: pd.Series, before_trade: pd.Series, trade_inputs: Inputs) -> str:
    chosen = aggregate(ranks(m), **CHOSEN)
    chosen_t = aggregate(ranks(mt, segments=cm.SEGMENTS + cm.BESIDE), **CHOSEN)
    lags = []
    for sid, f in trade_inputs.frames.items():
        if sid.startswith(("imf.", "comtrade.")):
            ref_end = pd.DatetimeIndex(f["date"]) + pd.offsets.MonthEnd(0)
            lags.extend((pd.DatetimeIndex(f["known_at"]) - ref_end).days)
    tr = mt["trade"]
    steps = tr.diff().abs().gt(0).any(axis=1)
    lines = ["| quantity | before issue 12 (CISS) | mean of squares |", "|---|---|---|"]

    def both(label, fn):
        lines.append(f"| {label} | {fn(before, before_trade)} | {fn(chosen, chosen_t)} |")

    both("max \\|index with trade − without\\|", lambda a, b: f"{(b - a).abs().max():.3f}")
    both("days with \\|difference\\| > 0.01 (of days both exist)",
         lambda a, b: f"{int(((b - a).abs() > 0.01).sum())} of {int((b - a).notna().sum())}")
    both("move of the index due to trade alone on step days, mean / max \\|Δ(with − without)\\|",
         lambda a, b: f"{(b - a).diff().abs()[steps].mean():.4f} / {(b - a).diff().abs()[steps].max():.3f}")
    both("typical daily move of the index without trade (median \\|Δ\\|, 2015-24)",
         lambda a, b: f"{a['2015':'2024'].diff().abs().median():.4f}")
    both("share of the index's daily variance (2015-24) due to trade",
         lambda a, b: f"{((b - a)['2015':'2024'].diff().var() / b['2015':'2024'].diff().var()):.2f}")
    both("criteria T A C without / with trade", lambda a, b: f"{judge(a).flags} / {judge(b).flags}")
    both("2019 median pct without / with trade",
         lambda a, b: f"{pct_in(a, a['2019'].median()):.2f} / {pct_in(b, b['2019'].median()):.2f}")
    lines.append(f"| trade-segment step days (a new monthly value enters) | {int(steps.sum())} over "
                 f"{tr.dropna(how='all').index[0].date()}..{tr.dropna(how='all').index[-1].date()} | |")
    lines.append(f"| publication lag, known_at − end of reference month (days, median / max) | "
                 f"{int(np.median(lags))} / {int(np.max(lags))} | |")
    lines += ["", "Trade data = the replay's synthetic monthly series (trend, seasonality, a 2022 jump; the repository "
              "has no real monthly China-Russia trade): the mechanics (step days, lag, carry-forward of 70 "
              "business days) are those of any monthly source."]
    return "\n".join(lines)


def table_history(m: dict, before: pd.Series) -> str:
    """The index as the package computes it (`composite`) on the real history."""
    res = cm.composite(m)
    idx, pct = res.index, res.percentile
    check = aggregate(ranks(m), **CHOSEN)[res.published_from:]
    diff = float((check - idx[res.published_from:]).abs().max())
    if not diff < 1e-12:
        raise AssertionError(f"composite() differs from the mean-of-squares row by {diff}")
    before_pct = cm.recursive_ecdf(before, 250)
    lines = ["| date | index | recursive percentile | before issue 12 | its percentile |", "|---|---|---|---|---|"]
    for d in KEY_DATES:
        def cell(s: pd.Series) -> str:
            v = s.get(pd.Timestamp(d))
            return "–" if v is None or pd.isna(v) else f"{v:.3f}"
        lines.append(f"| {d} | {cell(idx)} | {cell(pct)} | {cell(before)} | {cell(before_pct)} |")
    rank, rank_before = month_ranking(idx), month_ranking(before)
    lines += ["", f"Published from {res.published_from.date()} (burn-in {BURN_IN}); percentile from "
              f"{pct.first_valid_index().date()}; equal to Table 1's mean-of-squares row (largest difference "
              f"{diff:.1e}).", "", "Months of 2001-2026 ranked by their maximum, each crisis window once:", "",
              "| rank | index | before issue 12 |", "|---|---|---|"]
    for i in range(8):
        a, b = rank[i], rank_before[i]
        lines.append(f"| {i + 1} | {a.month} {a.value:.3f} {a.window} | {b.month} {b.value:.3f} {b.window} |")
    s = idx["2001":].dropna()
    low = res.coverage[res.coverage < 1]
    lines += ["", f"Index median {s.median():.3f}, 85th percentile {s.quantile(0.85):.3f}; 2017 median "
              f"{s['2017'].median():.3f}, 2019 median {s['2019'].median():.3f}; 2023-08 maximum "
              f"{s['2023-08'].max():.3f} on {s['2023-08'].idxmax().date()}; December 2014 maximum "
              f"{s['2014-12'].max():.3f} on {s['2014-12'].idxmax().date()}; coverage below 1 on {len(low)} days"
              + (f" (from {low.index.min().date()}: the Brent and IMOEX rows end in the data)." if len(low) else ".")]
    return "\n".join(lines)


def tables(store: Path, trade_store: Path) -> str:
    m, _ = load_measures(store)
    mt, trade_inputs = load_measures(trade_store)
    before, before_trade = before_issue_12(m), before_issue_12(mt)
    crises = ", ".join(f"{a}..{b}" for a, b in CRISES.values())
    return "\n".join([
        f"Real-only store as of {ASOF}; crisis windows {crises}.", "",
        "**Table 1. Aggregating the segments**", "", table_aggregation(m, mt, before, before_trade), "",
        "**Table 2. Burn-in and the early ranks**", "", table_burn_in(m), "",
        "**Table 3. The monthly, lagged trade measure: in the daily index or beside it**", "",
        table_trade(m, mt, before, before_trade, trade_inputs), "",
        "**Table 4. The index on the real history**", "", table_history(m, before)])


def build_stores(folder: Path) -> tuple[Path, Path]:
    real = replay_store(folder / "real.db")
    trade = folder / "trade.db"
    shutil.copy(real, trade)
    replay_store(trade, sources=TRADE_SOURCES)
    return real, trade


def replace_in_doc(text: str, block: str) -> str:
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, help="the real-only store (built when absent)")
    ap.add_argument("--trade-store", type=Path, help="the same with the replay's trade (built when absent)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write the tables into {DOC.relative_to(REPO)}")
    mode.add_argument("--check", action="store_true", help=f"exit 1 unless {DOC.relative_to(REPO)} has them")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store, trade = args.store, args.trade_store
        if store is None or trade is None:
            store, trade = build_stores(Path(tmp))
        block = tables(store, trade)
    doc = DOC.read_text(encoding="utf-8")
    if args.check:
        if replace_in_doc(doc, block) != doc:
            print(f"{DOC.relative_to(REPO)}: the tables differ from what the code computes; run "
                  "python benchmarks/index_table.py --write", file=sys.stderr)
            return 1
        print(f"{DOC.relative_to(REPO)}: the tables are what the code computes")
        return 0
    print(block)
    if args.write:
        DOC.write_text(replace_in_doc(doc, block), encoding="utf-8")
        print(f"\nwrote {DOC.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
