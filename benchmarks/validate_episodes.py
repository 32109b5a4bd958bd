"""Validate the regime models on real Russian history (not part of the test run).

Loads the real Bank of Russia USD/RUB history (1992-2024 file + 2021-2026 file), the key rate,
Brent and the MOEX index from ../shared/data/real into a temporary Store (point-in-time vintages),
computes the stress index when the compute step is available, fits each regime model through
`regimes.update_model` (the same path `compute` uses) and prints, per model and dated episode:
the share of the episode's observation days with smoothed P(stress) > 0.5, the lag in business
days until the filtered P(stress) first exceeds 0.5, and the share of days flagged in the calm
years 2017 and 2019. These are full-sample (hindsight) numbers, the v0.2 validation kept for the
record; the real-time score of a model is `stresswatch regimes scorecard` (docs/regimes.md).

    /work/venv/bin/python benchmarks/validate_episodes.py [--models ruble3,ruble3d,stress,ruble2,ruble2w] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("STRESSWATCH_SHARED", REPO.parent / "shared")) / "data" / "real"

#: documented episodes (METHODS.md section 3.2); "required" ones are the acceptance set
EPISODES = [
    ("2008-09 devaluation", "2008-12-01", "2009-02-28", True),
    ("Dec 2014 crash", "2014-12-01", "2014-12-31", True),
    ("2022 sanctions shock", "2022-02-24", "2022-03-31", True),
    ("Aug 2023 (>100/USD, 12% hike)", "2023-08-07", "2023-08-18", True),
    ("1998 default/float", "1998-08-17", "1998-09-30", False),
    ("Jan 2015 aftershock", "2015-01-05", "2015-01-30", False),
    ("Jan 2016 oil low", "2016-01-11", "2016-01-29", False),
    ("Apr 2018 Rusal sanctions", "2018-04-09", "2018-04-20", False),
    ("Aug 2018 sanctions bill", "2018-08-08", "2018-08-24", False),
    ("Mar 2020 oil/Covid", "2020-03-09", "2020-03-31", False),
    ("Nov 2024 Gazprombank", "2024-11-21", "2024-11-29", False),
]
CALM_YEARS = (2017, 2019)


# ------------------------------------------------------------------------------------------------
# Real-history loaders (formats documented in ../shared/data/real/README.md)
# ------------------------------------------------------------------------------------------------
def load_usd() -> pd.Series:
    """CBR USD/RUB by effective date: the 1992-2024 file (MM/DD/YYYY, newest first) before 2021,
    the 2021-2026 file from 2021 (identical on the overlap)."""
    old = pd.read_csv(SHARED / "fx" / "cbr_usd_rub_1992_2024.csv")
    old = pd.Series(old["rate"].to_numpy(float), index=pd.to_datetime(old["date"], format="%m/%d/%Y"))
    new = pd.read_csv(SHARED / "fx" / "cbr_usd_eur_cny_rub_2021_2026.csv")
    new = new[new["currency"] == "USD"]
    new = pd.Series(new["rub_per_unit"].to_numpy(float), index=pd.to_datetime(new["date"]))
    s = pd.concat([old[old.index < "2021-01-01"], new]).sort_index()
    s = s[~s.index.duplicated(keep="last")]
    s.index.name = "date"
    return s.rename("cbr.fx.USD")


def load_keyrate() -> pd.Series:
    a = pd.read_csv(SHARED / "rates" / "cbr_key_rate_daily_2013_2023.tsv", sep="\t")
    a = pd.Series(a.iloc[:, 1].astype(str).str.replace(",", ".").astype(float).to_numpy(),
                  index=pd.to_datetime(a.iloc[:, 0], format="%d.%m.%Y"))
    b = pd.read_csv(SHARED / "rates" / "cbr_key_rate_daily_2021_2026.csv")
    b = pd.Series(b["key_rate_pct"].to_numpy(float), index=pd.to_datetime(b["date"]))
    s = pd.concat([a[a.index < "2021-01-01"], b]).sort_index()
    s = s[~s.index.duplicated(keep="last")]
    s.index.name = "date"
    return s.rename("cbr.keyrate")


def load_brent() -> pd.Series:
    df = pd.read_csv(SHARED / "oil" / "fred_DCOILBRENTEU_daily_1987_2025.csv")
    s = pd.Series(pd.to_numeric(df["value"], errors="coerce").to_numpy(), index=pd.to_datetime(df["date"])).dropna()
    s.index.name = "date"
    return s.rename("fred.DCOILBRENTEU")


def load_imoex() -> pd.Series:
    df = pd.read_csv(SHARED / "markets" / "moex_IMOEX_daily_1997_2026.csv", sep=";", encoding="utf-8")
    s = pd.Series(df["CLOSE"].astype(str).str.replace(",", ".").astype(float).to_numpy(),
                  index=pd.to_datetime(df["TRADEDATE"], format="%d.%m.%Y"))
    s = s[~s.index.duplicated(keep="last")].sort_index()
    s.index.name = "date"
    return s.rename("moex.index.IMOEX")


def build_store(path: Path):
    """A Store holding the real series as point-in-time vintages (known on their own date)."""
    from stresswatch.fetchers.base import Observation, SeriesInfo
    from stresswatch.store import Store

    store = Store.open(path)
    series = [
        (SeriesInfo("cbr.fx.USD", "cbr", "USD/RUB official rate", "RUB per USD", "D"), load_usd()),
        (SeriesInfo("cbr.keyrate", "cbr", "Bank of Russia key rate", "%", "D"), load_keyrate()),
        (SeriesInfo("fred.DCOILBRENTEU", "fred", "Brent crude", "USD/bbl", "D"), load_brent()),
        (SeriesInfo("moex.index.IMOEX", "moex", "MOEX Russia index", "points", "D"), load_imoex()),
    ]
    store.observations.upsert_series([info for info, _ in series])
    fetched = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    for info, s in series:
        store.observations.write_observations([Observation(info.id, d.date(), float(v)) for d, v in s.items()],
                                              fetched_at=fetched)
    return store


def compute_stress_index(store, settings, asof: dt.date) -> str:
    """Run the indicators engineer's compute step if it exists; returns a status line."""
    try:
        from stresswatch import compute as compute_mod  # noqa: PLC0415
    except ImportError as exc:
        return f"stress index not computed: stresswatch.compute not available ({exc})"
    if not hasattr(compute_mod, "compute"):
        return "stress index not computed: stresswatch.compute has no compute()"
    t0 = time.perf_counter()
    compute_mod.compute(store, settings, asof, run_regimes=False)
    n = len(store.observations.read_series("stress.index", asof=asof))
    return f"stress index computed: {n} values in {time.perf_counter() - t0:.1f} s"


# ------------------------------------------------------------------------------------------------
# Metrics
# ------------------------------------------------------------------------------------------------
def episode_metrics(probs: pd.DataFrame, start: str, end: str) -> dict:
    """Share of the episode's observation days with smoothed P(stress) > 0.5 and the lag (business
    days from the episode start) until the filtered P(stress) first exceeds 0.5 (searched up to
    20 business days past the end)."""
    p = probs.set_index("date")
    window = p[(p.index >= start) & (p.index <= end)]
    if window.empty:
        return {"days": 0, "covered": None, "lag": None}
    covered = float((window["p_stress_smoothed"] > 0.5).mean())
    horizon_end = pd.Timestamp(end) + pd.offsets.BDay(20)
    after = p[(p.index >= start) & (p.index <= horizon_end)]
    hit = after.index[after["p_stress_filtered"] > 0.5]
    lag = int(np.busday_count(pd.Timestamp(start).date(), hit[0].date())) if len(hit) else None
    return {"days": int(len(window)), "covered": covered, "lag": lag}


def calm_share(probs: pd.DataFrame, year: int, column: str = "p_stress_smoothed") -> float | None:
    p = probs.set_index("date")
    window = p[p.index.year == year]
    window = window[window.index.day_of_week < 5]  # business days only
    return float((window[column] > 0.5).mean()) if len(window) else None


def evaluate_model(store, settings, spec, asof: dt.date) -> dict:
    from stresswatch.regimes.runs import latest_run
    from stresswatch.regimes.state import regime_state
    from stresswatch.regimes.update import update_model

    t0 = time.perf_counter()
    summary = update_model(store, settings, spec, asof, force="cold")
    seconds = time.perf_counter() - t0
    if summary.status in ("skipped", "failed"):
        return {"model": spec.id, "status": summary.status, "message": summary.message}
    probs = regime_state(store, settings, asof, spec.id).frame()
    run = latest_run(store, spec.id, asof)
    out = {"model": spec.id, "status": summary.status, "seconds": round(seconds, 2), "n": run.n,
           "llf": run.llf, "converged": run.converged, "fallback": run.fallback, "params": run.params,
           "durations": run.durations.tolist(), "episodes": {}, "calm": {}}
    for name, start, end, _required in EPISODES:
        out["episodes"][name] = episode_metrics(probs, start, end)
    for year in CALM_YEARS:
        out["calm"][year] = {"smoothed": calm_share(probs, year), "filtered": calm_share(probs, year, "p_stress_filtered")}
    # era split: share of days in the top regime before / after the Nov 2014 float
    p = probs.set_index("date")
    flagged = p["p_stress_smoothed"] > 0.5
    out["era"] = {"before_2014_11_10": float(flagged[p.index < "2014-11-10"].mean()),
                  "after_2014_11_10": float(flagged[p.index >= "2014-11-10"].mean())}
    return out


def extra_specs():
    """Variants shown in docs/regimes.md next to the configured models."""
    from stresswatch.regimes.spec import RegimeSpec

    return {
        # the v0.2 headline and its daily twin, retired by issue 11 (hindsight numbers only)
        "ruble3": RegimeSpec(id="ruble3", series="cbr.fx.USD", transform="logret", k_regimes=3, frequency="W"),
        "ruble3d": RegimeSpec(id="ruble3d", series="cbr.fx.USD", transform="logret", k_regimes=3),
        "ruble2": RegimeSpec(id="ruble2", series="cbr.fx.USD", transform="logret", k_regimes=2),
        "ruble2w": RegimeSpec(id="ruble2w", series="cbr.fx.USD", transform="weekly_logret", k_regimes=2),
        "ruble3_1997": RegimeSpec(id="ruble3_1997", series="cbr.fx.USD", transform="logret", k_regimes=3,
                                  start=dt.date(1997, 1, 1)),
    }


def fmt(x, pct=True):
    if x is None:
        return "-"
    return f"{100 * x:.0f}%" if pct else str(x)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="ruble3,ruble3d,stress,ruble2,ruble2w", help="comma-separated model ids")
    parser.add_argument("--asof", default=None, help="fit as of this date (default: last USD date)")
    parser.add_argument("--json", default=None, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    if not SHARED.exists():
        print(f"{SHARED} not found; nothing to validate")
        return 0
    from stresswatch import settings as settings_mod
    from stresswatch.regimes.spec import specs_from_settings

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store = build_store(Path(tmp) / "real.db")
        settings = settings_mod.load(environ={}, overrides={"store.path": str(Path(tmp) / "real.db")})
        asof = (dt.date.fromisoformat(args.asof) if args.asof
                else store.observations.read_series("cbr.fx.USD").index[-1].date())
        print(f"loaded real history in {time.perf_counter() - t0:.1f} s; asof {asof}")
        wanted = [m.strip() for m in args.models.split(",") if m.strip()]
        configured = {s.id: s for s in specs_from_settings(settings)}
        configured.update({k: v for k, v in extra_specs().items() if k not in configured})
        if any(configured[m].series == "stress.index" for m in wanted if m in configured):
            print(compute_stress_index(store, settings, asof))
        results = []
        for model_id in wanted:
            if model_id not in configured:
                print(f"unknown model {model_id}")
                continue
            res = evaluate_model(store, settings, configured[model_id], asof)
            results.append(res)
        store.close()

    for res in results:
        print()
        if res["status"] in ("skipped", "failed"):
            print(f"== {res['model']}: {res['status']}: {res['message']}")
            continue
        dur = ", ".join(f"{d:.1f}" for d in res["durations"])
        print(f"== {res['model']}: n={res['n']} llf={res['llf']:.2f} converged={res['converged']} "
              f"fallback={res['fallback']} fit {res['seconds']} s; expected durations {dur}")
        print(f"   {'episode':34s} {'window':23s} {'days':>4s} {'smoothed>0.5':>12s} {'lag (bd)':>8s}")
        for (name, start, end, required) in EPISODES:
            m = res["episodes"][name]
            mark = "*" if required else " "
            print(f" {mark} {name:34s} {start}..{end[5:]:>10s} {m['days']:>4d} {fmt(m['covered']):>12s} "
                  f"{fmt(m['lag'], pct=False):>8s}")
        for year, shares in res["calm"].items():
            print(f"   calm {year}: {fmt(shares['smoothed'])} of business days smoothed>0.5, "
                  f"{fmt(shares['filtered'])} filtered>0.5")
        print(f"   share flagged before/after the 2014-11-10 float: {fmt(res['era']['before_2014_11_10'])} / "
              f"{fmt(res['era']['after_2014_11_10'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
