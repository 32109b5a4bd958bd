"""SIGTERM during a backfill: the partition in flight finishes, the rest waits for a rerun."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

from stresswatch.store import Store
from tests.fakes.cbr import FakeCbr, synthetic_history


def test_sigterm_finishes_the_partition_in_flight_then_stops(tmp_path):
    hist = synthetic_history(dt.date(2016, 1, 1), dt.date(2021, 12, 31), isos=("USD",))
    with FakeCbr(hist, delay=0.4) as fake:
        cfg = tmp_path / "sw.toml"
        cfg.write_text(f"""
[store]
path = "{tmp_path / 'sw.db'}"
[http]
backoff_factor = 0.0
[sources.cbr]
base_url = "{fake.base_url}"
min_interval = 0.0
currencies = ["USD"]
keyrate = false
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_")}
        env["STRESSWATCH_HOME"] = str(tmp_path / "home")
        proc = subprocess.Popen([sys.executable, "-m", "stresswatch", "--config", str(cfg), "backfill",
                                 "--start", "2016-01-01", "--end", "2021-12-31", "--source", "cbr"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        deadline = time.monotonic() + 30
        while fake.count() < 2 and time.monotonic() < deadline:  # well into the second partition
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err
        assert "interrupted" in err
        with Store.open(tmp_path / "sw.db") as store:
            rows = store.ledger.rows("fetch:cbr")
            assert all(r["status"] == "success" for r in rows), rows  # no half-done partition
            done = {r["partition"][:4] for r in rows}
            assert 2 <= len(done) < 6
            years = {d.year for d in store.observations.read_series("cbr.fx.USD").index}
            assert years == {int(y) for y in done}
            assert store.integrity_check() == "ok"
        # a rerun completes the rest and asks nothing for the finished years
        before = fake.count()
        fake.delay = 0.0
        done_again = subprocess.run([sys.executable, "-m", "stresswatch", "--config", str(cfg), "backfill",
                                     "--start", "2016-01-01", "--end", "2021-12-31", "--source", "cbr"],
                                    capture_output=True, text=True, env=env, timeout=60)
        assert done_again.returncode == 0, done_again.stderr
        assert fake.count() - before == 6 - len(done)
