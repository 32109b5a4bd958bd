"""SIGTERM during a backfill: the transfer in flight is abandoned at once, its partition recorded
`interrupted` (issue 14: never left `running`), the finished ones kept; a rerun completes the rest."""

import datetime as dt
import os
import signal
import subprocess
import sys
import time

from stresswatch.store import Store
from tests.fakes.cbr import FakeCbr, synthetic_history


def test_sigterm_abandons_the_transfer_in_flight_records_it_interrupted_then_stops(tmp_path):
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
            # issue 14 changed this: the partition in flight no longer finishes; it is recorded
            # `interrupted`, the others `success` -- none `running`, none half-written
            assert sorted(r["status"] for r in rows).count("interrupted") == 1, rows
            assert all(r["status"] in ("success", "interrupted") for r in rows), rows
            done = {r["partition"][:4] for r in rows if r["status"] == "success"}
            assert 1 <= len(done) < 6
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


def test_sigterm_abandons_a_trickling_transfer_within_seconds(tmp_path):
    """Issue 14 item 1: with a generous `timeout`, only the signal can end a trickle; the process
    exits, the partition is `interrupted` (not `running`), and the server sees the client go."""
    from tests.fakes.hostile import HostileServer, trickle

    body = b"<ValCurs>" + b" " * 100_000 + b"</ValCurs>"  # 1 byte per 20 ms: about 35 minutes
    with HostileServer(trickle(body, every=0.02)) as server:
        cfg = tmp_path / "sw.toml"
        cfg.write_text(f"""
[store]
path = "{tmp_path / 'sw.db'}"
[sources.cbr]
base_url = "{server.base_url}"
min_interval = 0.0
timeout = 3600.0
currencies = ["USD"]
keyrate = false
""")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRESSWATCH_")}
        env["STRESSWATCH_HOME"] = str(tmp_path / "home")
        proc = subprocess.Popen([sys.executable, "-m", "stresswatch", "--config", str(cfg), "backfill",
                                 "--start", "2023-01-01", "--end", "2023-12-31", "--source", "cbr"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        deadline = time.monotonic() + 30
        while not (server.connections and server.connections[0].sent >= 20) and time.monotonic() < deadline:
            time.sleep(0.02)
        sent_at_signal = server.connections[0].sent
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1, err
        assert "interrupted" in err
        # the client hung up: a few bytes after the signal, not the 100,000 still to come
        assert server.connections[0].cut and server.connections[0].sent - sent_at_signal < 200
    with Store.open(tmp_path / "sw.db") as store:
        (row,) = store.ledger.rows("fetch:cbr")
        assert row["status"] == "interrupted" and row["attempts"] == 1
