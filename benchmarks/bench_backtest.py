"""Benchmark of issue 11 item 5: the real-time backtest of the headline over 1999-2026 against ONE
cold fit of the same model, measured in the same process (not part of the test run).

    . .venv/bin/activate && STRESSWATCH_SHARED=/work/shared python benchmarks/bench_backtest.py [--end 2026-08-20]

* store: a fresh SQLite store in a temp folder with the real CBR USD/RUB and EUR/RUB fixings from
  1999 (../shared/data/real), each known on its own date (a backfill with publication lag 0);
* cold fit: `regimes.refits.cold_fit` of the headline on the estimation rows of the whole history
  known at --end (the most expensive cold fit the backtest could make), timed three times (before,
  between and after the backtest); the median is the denominator, as the machine is shared;
* backtest: `regimes.backtest.backtest` of the headline over every business day from 1999-01-01 to
  --end (the stored-rows path the command uses: reading the vintages, the daily policy, writing the
  rows in batches);
* memory: tracemalloc peak (Python allocations) of a second, untimed backtest on a fresh backtest
  key, and the process max RSS.

Target: backtest / cold fit <= 30.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from validate_episodes import SHARED, load_usd  # noqa: E402

START = dt.date(1999, 1, 1)
FETCHED = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)


def load_eur() -> pd.Series:
    """CBR EUR/RUB: the 1999-2020 file before 2021, the 2021-2026 file after (gap in late 2020)."""
    old = pd.read_csv(SHARED / "fx" / "cbr_eur_rub_1999_2020.csv")
    old = pd.Series(old["value"].to_numpy(float), index=pd.to_datetime(old["date"]))
    new = pd.read_csv(SHARED / "fx" / "cbr_usd_eur_cny_rub_2021_2026.csv")
    new = new[new["currency"] == "EUR"]
    new = pd.Series(new["rub_per_unit"].to_numpy(float), index=pd.to_datetime(new["date"]))
    s = pd.concat([old[old.index < "2021-01-01"], new]).sort_index()
    return s[~s.index.duplicated(keep="last")]


def main() -> int:
    from stresswatch.fetchers.base import Observation, SeriesInfo
    from stresswatch.regimes.backtest import backtest
    from stresswatch.regimes.inputs import read_input
    from stresswatch.regimes.policy import Policy
    from stresswatch.regimes.refits import cold_fit
    from stresswatch.regimes.spec import get_spec, headline
    from stresswatch.settings import load as load_settings
    from stresswatch.store import Store

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 8, 20))
    args = ap.parse_args()
    if not (SHARED / "fx").is_dir():
        print(f"{SHARED / 'fx'} not found: set STRESSWATCH_SHARED", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(None, environ={}, overrides={"store.path": str(Path(tmp) / "sw.db")})
        store = Store.open(Path(tmp) / "sw.db")
        store.observations.upsert_series([SeriesInfo("cbr.fx.USD", "cbr", "USD/RUB", "RUB per USD", "D"),
                                          SeriesInfo("cbr.fx.EUR", "cbr", "EUR/RUB", "RUB per EUR", "D")])
        for series_id, values in (("cbr.fx.USD", load_usd()), ("cbr.fx.EUR", load_eur())):
            values = values[(values.index >= pd.Timestamp(START)) & (values.index <= pd.Timestamp(args.end))]
            store.observations.write_observations(
                [Observation(series_id, d.date(), float(v)) for d, v in values.items()], fetched_at=FETCHED)
        model = headline(store, settings)
        spec = get_spec(settings, model)
        policy = Policy.from_settings(settings)
        inputs, _ = read_input(store, spec, args.end)
        y = inputs.y[inputs.fit_ok]

        def time_cold() -> float:
            t0 = time.perf_counter()
            fit = cold_fit(y, spec, search_reps=policy.search_reps, seeds=policy.seeds)
            assert fit.accepted, fit.reasons
            return time.perf_counter() - t0

        cold_fit(y[:300], spec, search_reps=policy.search_reps, seeds=policy.seeds)  # warm the imports
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        colds = [time_cold()]
        t0 = time.perf_counter()
        result = backtest(store, settings, START, args.end, model)
        t_bt = time.perf_counter() - t0
        colds += [time_cold(), time_cold()]
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # memory: the same backtest again from scratch (its stored rows dropped), under tracemalloc
        for stored in store.backtests.of_model(model):
            store.backtests.delete(stored.id)
        tracemalloc.start()
        backtest(store, settings, START, args.end, model)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        store.close()
    cold = statistics.median(colds)
    answered = int(result.rows["date"].notna().sum())
    print(f"model {model}: {len(inputs)} model rows, {len(y)} estimation rows known at {args.end}")
    print(f"cold fit (whole estimation sample): {', '.join(f'{c:.2f}' for c in colds)} s -> median {cold:.2f} s")
    print(f"backtest {START}..{args.end}: {len(result.rows)} business days ({answered} answered) in {t_bt:.1f} s "
          f"({1000 * t_bt / len(result.rows):.2f} ms/day); actions {result.actions}")
    print(f"RATIO backtest / cold fit = {t_bt / cold:.1f} (target <= 30)")
    print(f"memory: tracemalloc peak of a backtest {peak / 2**20:.1f} MiB (Python allocations); process max RSS "
          f"{rss0:.0f} MiB after loading and one small fit, {rss1:.0f} MiB after the timed runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
