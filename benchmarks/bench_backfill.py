"""Benchmark: CBR backfill of USD, EUR, CNY and the key rate, 1998-01-01..2024-05-31, end to end
(HTTP to a local fake CBR replaying ../shared/data/real, archive, parse, vintaged store) against
two baselines measured in the same run: the same requests on the wire only (no archive, parse or
store), and a raw `executemany` of the same rows into SQLite with the same schema and pragmas.

Run:  /work/venv/bin/python benchmarks/bench_backfill.py [--repeat N] [--tracemalloc]
Prints a table with observations per second and the ratio to the raw insert, and peak memory
(peak RSS of the process from getrusage; with --tracemalloc also the Python-heap peak of one
backfill, measured in a separate pass because tracing slows everything down).
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from stresswatch import pipeline, settings as settings_mod  # noqa: E402
from stresswatch.fetchers.cbr import CbrFetcher  # noqa: E402
from stresswatch.store import Store  # noqa: E402
from tests.fakes.cbr import FakeCbr, history_from_shared  # noqa: E402

START, END = dt.date(1998, 1, 1), dt.date(2024, 5, 31)
CURRENCIES = ["USD", "EUR", "CNY"]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def load_settings(db: Path, base_url: str) -> settings_mod.Settings:
    return settings_mod.load(environ={}, overrides={
        "store.path": str(db), "sources.cbr.base_url": base_url, "sources.cbr.min_interval": 0.0,
        "sources.cbr.currencies": CURRENCIES, "sources.cbr.keyrate": True, "http.backoff_factor": 0.0,
        "backfill.min_interval_factor": 0.0})


def run_backfill(db: Path, base_url: str) -> tuple[float, int, int]:
    """(seconds, observations stored, requests) for one clean end-to-end backfill."""
    settings = load_settings(db, base_url)
    t0 = time.perf_counter()
    with Store.open(db) as store:
        report = pipeline.backfill(store, settings, START, END, sources=["cbr"], progress=False)
    seconds = time.perf_counter() - t0
    if not report.ok:
        raise SystemExit(f"backfill failed: {report.summary()}")
    with Store.open(db) as store:
        count = sum(len(store.observations.all_vintages(s["id"])) for s in store.observations.list_series())
    return seconds, count, sum(o.requests for o in report.outcomes)


def wire_only(base_url: str) -> tuple[float, int]:
    """The same requests through a plain requests.Session, bodies read and dropped."""
    import requests

    fetcher = CbrFetcher({"base_url": base_url, "currencies": CURRENCIES, "keyrate": True})
    reqs = [r for part in fetcher.partitions(START, END) for r in fetcher.build_requests(part.start, part.end)]
    t0 = time.perf_counter()
    with requests.Session() as session:
        for r in reqs:
            session.request(r.method, r.url, params=list(r.params) or None, headers=dict(r.headers),
                            data=r.body, timeout=30).content
    return time.perf_counter() - t0, len(reqs)


def raw_insert(source_db: Path, target: Path) -> tuple[float, int]:
    """executemany of the rows the backfill stored, into an empty table of the same schema."""
    with sqlite3.connect(source_db) as src:
        ddl = src.execute("SELECT sql FROM sqlite_master WHERE type='table' AND name='observations'").fetchone()[0]
        rows = src.execute("SELECT series_id, date, known_at, value, fetched_at, NULL FROM observations").fetchall()
    ddl = ddl.replace("REFERENCES series(id)", "").replace("REFERENCES raw_payloads(id)", "")
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(ddl)
    t0 = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO observations (series_id, date, known_at, value, fetched_at, payload_id) "
                     "VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(REPO.parent / "shared"), help="the shared folder")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is reported")
    parser.add_argument("--tracemalloc", action="store_true", help="also measure the Python-heap peak (slow)")
    args = parser.parse_args(argv)
    if not (Path(args.shared) / "data" / "real" / "fx").is_dir():
        print(f"skipped: {args.shared}/data/real not found (the benchmark replays the real CBR history)")
        return 0

    rss_start = peak_rss_mb()
    history = history_from_shared(args.shared)
    with FakeCbr(history) as fake, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        rss_loaded = peak_rss_mb()
        e2e, wire, raw = [], [], []
        for i in range(args.repeat):
            e2e.append(run_backfill(tmpdir / f"e2e{i}.db", fake.base_url))
            wire.append(wire_only(fake.base_url))
            raw.append(raw_insert(tmpdir / f"e2e{i}.db", tmpdir / f"raw{i}.db"))
        rss_after = peak_rss_mb()
        heap_peak = None
        if args.tracemalloc:
            tracemalloc.start()
            run_backfill(tmpdir / "traced.db", fake.base_url)
            heap_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()

    e2e_s, rows, requests = min(e2e)
    wire_s, wire_n = min(wire)
    raw_s, raw_rows = min(raw)
    assert raw_rows == rows
    print(f"CBR backfill {START}..{END}: {', '.join(CURRENCIES)} + key rate; {rows} observations, "
          f"{requests} requests; best of {args.repeat}")
    print(f"{'stage':<34}{'seconds':>10}{'obs/s':>12}{'vs raw insert':>15}")
    for name, seconds in (("end-to-end backfill (pipeline)", e2e_s), ("wire only (same requests)", wire_s),
                          ("raw executemany insert", raw_s)):
        print(f"{name:<34}{seconds:>10.3f}{rows / seconds:>12,.0f}{seconds / raw_s:>14.1f}x")
    print(f"{'peak RSS (MiB)':<34}{rss_after:>10.1f}   (start {rss_start:.1f}, after loading the "
          f"history and starting the fake {rss_loaded:.1f})")
    if heap_peak is not None:
        print(f"{'Python heap peak, one backfill':<34}{heap_peak:>10.1f} MiB (tracemalloc)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
