"""Every source at once, replayed from ../shared/data/real on local HTTP servers, for manual
end-to-end runs and benchmarks (never part of the test run; reads ../shared in place).

    python -m tests.fakes.replay --port 8770 --config /tmp/replay.toml

starts the fake Bank of Russia (real USD/EUR/CNY history and key rate) on PORT and one werkzeug
server on PORT+1 answering BIS (real policy rates of 38 economies), FRED (real Brent), MOEX (real
IMOEX), IMF and Comtrade (synthetic monthly China–Russia trade: the repository has no real monthly
series, see data/real/README.md) and GDELT (a handful of synthetic candidates), and writes a
settings file pointing every source at them. Ctrl-C stops. A port that is taken is named in one
line (exit 2), before the history is loaded.

Tests use `Replay` (port 0 = any free pair): `with Replay() as replay: replay.write_config(...)`;
`replay.outage(True)` makes every source answer 503 until `replay.outage(False)`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import socket
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server
from werkzeug.wrappers import Request as WRequest
from werkzeug.wrappers import Response

from tests.conftest import shared_root
from tests.fakes.bis import BisFake
from tests.fakes.cbr import FakeCbr, history_from_shared
from tests.fakes.comtrade import ComtradeFake
from tests.fakes.fred import FredFake
from tests.fakes.gdelt import GdeltFake
from tests.fakes.imf import ImfFake
from tests.fakes.moex import MoexFake

SHARED = shared_root() / "data" / "real"


def synthetic_trade(start: dt.date, end: dt.date) -> dict[str, dict[dt.date, float]]:
    """Plausible monthly China->Russia exports and imports (USD): trend, seasonality, a 2022 jump."""
    out: dict[str, dict[dt.date, float]] = {"X": {}, "M": {}}
    day = dt.date(start.year, start.month, 1)
    while day <= end:
        t = (day.year - 2014) * 12 + day.month
        season = 1 + 0.12 * math.sin(2 * math.pi * day.month / 12)
        jump = 1.6 if day >= dt.date(2022, 4, 1) else 1.0
        out["X"][day] = round(3.5e9 * (1 + 0.006 * t) * season * jump, -5)
        out["M"][day] = round(3.0e9 * (1 + 0.007 * t) * season * (1.5 if day >= dt.date(2022, 3, 1) else 1), -5)
        day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return out


def build_fakes(shared: Path = SHARED) -> list:
    trade = synthetic_trade(dt.date(2014, 1, 1), dt.date(2024, 6, 1))
    fakes = [
        BisFake.from_wide_csv(shared / "rates" / "bis_WS_CBPOL_D_csv_col.csv"),
        FredFake.from_csv(shared / "oil" / "fred_DCOILBRENTEU_daily_1987_2025.csv", "DCOILBRENTEU"),
        MoexFake.from_iss_csv(shared / "markets" / "moex_IMOEX_daily_1997_2026.csv"),
        ImfFake({("CHN", "XG_FOB_USD", "RUS"): trade["X"], ("CHN", "MG_CIF_USD", "RUS"): trade["M"]}),
        ComtradeFake({(156, 643, "X"): trade["X"], (156, 643, "M"): trade["M"]}),
        GdeltFake(),
    ]
    return fakes


def make_app(fakes: list, down: threading.Event | None = None):
    def app(environ, start_response):
        request = WRequest(environ)
        if down is not None and down.is_set():
            return Response("Service Unavailable", status=503)(environ, start_response)
        for fake in fakes:
            if fake.path_pattern.match(request.path):
                return fake._handle(request)(environ, start_response)
        return Response("no such endpoint", status=404)(environ, start_response)

    return app


class PortBusy(OSError):
    """A replay port is taken by another process."""


def check_free(port: int) -> None:
    """PortBusy when 127.0.0.1:`port` cannot be bound (0 = any port is fine)."""
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as exc:
            raise PortBusy(exc.errno, f"port {port} on 127.0.0.1 is not free ({exc.strerror})") from None


class Replay:
    """The fake Bank of Russia on one port and the other sources on a second one (`port` and
    `port + 1`; `port=0` picks two free ports), serving the real history from ../shared."""

    def __init__(self, port: int = 0, shared: Path = SHARED):
        self.port = port
        self.shared = shared
        self.down = threading.Event()
        self.cbr: FakeCbr | None = None
        self.server = None
        self._thread: threading.Thread | None = None

    def start(self) -> "Replay":
        for port in (self.port, self.port + 1) if self.port else ():
            check_free(port)
        self.cbr = FakeCbr(history_from_shared(self.shared.parent.parent), port=self.port)
        self.cbr.start()
        try:
            self.server = make_server("127.0.0.1", self.cbr.port + 1 if self.port else 0,
                                      make_app(build_fakes(self.shared), self.down), threaded=True)
        except OSError:
            self.cbr.stop()
            raise
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def cbr_url(self) -> str:
        assert self.cbr is not None
        return self.cbr.base_url

    @property
    def other_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}"

    def outage(self, down: bool) -> None:
        """Every source answers 503 Service Unavailable (True) or serves again (False)."""
        assert self.cbr is not None
        if down:
            self.down.set()
            self.cbr.inject("*", "503", times=None)
        else:
            self.down.clear()
            self.cbr.clear_faults()

    def write_config(self, path: Path, store: Path, extra: str = "") -> Path:
        write_config(path, self.cbr_url, self.other_url, store, extra)
        return path

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.cbr is not None:
            self.cbr.stop()

    def __enter__(self) -> "Replay":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_config(path: Path, cbr_url: str, other_url: str, store: Path, extra: str = "") -> None:
    path.write_text(f"""# written by tests/fakes/replay.py
[store]
path = "{store}"

[http]
backoff_factor = 0.2

[sources.cbr]
base_url = "{cbr_url}"
min_interval = 0.0
history_start = 1999-01-01

[sources.bis]
base_url = "{other_url}"
min_interval = 0.0

[sources.fred]
base_url = "{other_url}"
min_interval = 0.0
series = ["DCOILBRENTEU"]

[sources.moex]
base_url = "{other_url}"
min_interval = 0.0

[sources.imf]
base_url = "{other_url}"
min_interval = 0.0

[sources.comtrade]
base_url = "{other_url}"
min_interval = 0.0

[sources.gdelt]
base_url = "{other_url}"
min_interval = 0.0
""" + extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8770, help="the Bank of Russia fake's port; the other sources "
                                                               "use PORT+1 (default 8770)")
    parser.add_argument("--config", type=Path, help="write a settings file pointing at the replays")
    parser.add_argument("--store", type=Path, default=Path("/tmp/stresswatch-replay/sw.db"))
    args = parser.parse_args(argv)
    replay = Replay(args.port)
    try:
        for port in (args.port, args.port + 1):
            check_free(port)
        if not SHARED.is_dir():
            print(f"replay: {SHARED} is absent (set STRESSWATCH_SHARED to the shared data folder)", file=sys.stderr)
            return 2
        replay.start()
    except PortBusy as exc:
        print(f"replay: {exc.strerror}; choose free ports with --port N (N and N+1 are used)", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. a port taken between the check and the bind
        print(f"replay: cannot listen on 127.0.0.1 ports {args.port} and {args.port + 1}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    if args.config:
        replay.write_config(args.config, args.store)
    print(f"CBR on {replay.cbr_url}; BIS/FRED/MOEX/IMF/Comtrade/GDELT on {replay.other_url}", flush=True)
    try:
        assert replay._thread is not None
        replay._thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        replay.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
