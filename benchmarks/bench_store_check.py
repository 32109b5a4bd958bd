"""Benchmark: what the integrity check before the first write costs (issue 14, item 9).

A writing command runs `PRAGMA quick_check` before its first write (stresswatch.store.database:
a damaged store is refused instead of written into). This measures, on stores of the sizes the
issue reports (44 MB after a 1992-2024 backfill of three currencies, 179 MB with derived series),
built from synthetic observations with the real schema:

    check   Store.open + one ledger write, the quick_check included (what a command pays)
    base    the same with the check switched off, measured in the same run (the baseline)
    create  making a new store (built under a temporary name, migrated, linked into place)

Run:  python benchmarks/bench_store_check.py [--sizes 44,179] [--repeat 5]
Prints milliseconds (median of --repeat, warm page cache) and the ratio check / base.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stresswatch.fetchers.base import Observation, SeriesInfo  # noqa: E402
from stresswatch.store import Store  # noqa: E402
from stresswatch.store import database  # noqa: E402


def build(path: Path, megabytes: float) -> None:
    """A store of about `megabytes` MB: daily vintaged observations of many series."""
    start = dt.date(1992, 7, 1)
    fetched = dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    with Store.open(path) as store:
        n = 0
        while path.stat().st_size + path.with_name(path.name + "-wal").stat().st_size < megabytes * 1e6:
            sid = f"bench.s{n:03d}"
            store.observations.upsert_series([SeriesInfo(sid, "cbr", sid, "RUB", "D")])
            rows = [Observation(sid, start + dt.timedelta(days=i), 60.0 + (i % 97) / 7) for i in range(12000)]
            store.observations.write_observations(rows, fetched_at=fetched)
            n += 1
    with Store.open(path) as store:  # checkpointed: the size on disk is the store's
        store.integrity_check()


def open_and_write(path: Path, check: bool) -> float:
    real = database.Database.verify
    if not check:
        database.Database.verify = lambda self, reason="": setattr(self, "_verified_at", time.monotonic())
    try:
        t0 = time.perf_counter()
        with Store.open(path, create=False) as store:
            store.ledger.start("bench:open", "p")
        return time.perf_counter() - t0
    finally:
        database.Database.verify = real


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="44,179", help="store sizes in MB (comma-separated)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"{'store MB':>9} {'check ms':>9} {'base ms':>8} {'ratio':>6} {'create ms':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in (float(s) for s in args.sizes.split(",")):
            path = Path(tmp) / f"bench{size:.0f}.db"
            build(path, size)
            open_and_write(path, True)  # warm the page cache
            checked = statistics.median(open_and_write(path, True) for _ in range(args.repeat))
            base = statistics.median(open_and_write(path, False) for _ in range(args.repeat))
            creates = []
            for i in range(args.repeat):
                t0 = time.perf_counter()
                Store.open(Path(tmp) / f"new{size:.0f}-{i}.db").close()
                creates.append(time.perf_counter() - t0)
            print(f"{path.stat().st_size / 1e6:9.1f} {checked * 1e3:9.1f} {base * 1e3:8.1f} {checked / base:6.1f} "
                  f"{statistics.median(creates) * 1e3:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
