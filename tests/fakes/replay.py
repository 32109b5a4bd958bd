"""Every source at once, replayed from ../shared/data/real on local HTTP servers, for manual
end-to-end runs and benchmarks (never part of the test run; reads ../shared in place).

    python -m tests.fakes.replay --port 8770 --config /tmp/replay.toml

starts the fake Bank of Russia (real USD/EUR/CNY history and key rate) on PORT and one werkzeug
server on PORT+1 answering BIS (real policy rates of 38 economies), FRED (real Brent), MOEX (real
IMOEX), IMF and Comtrade (synthetic monthly China–Russia trade: the repository has no real monthly
series, see data/real/README.md) and GDELT (a handful of synthetic candidates), and writes a
settings file pointing every source at them. Ctrl-C stops.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
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


def build_fakes() -> list:
    trade = synthetic_trade(dt.date(2014, 1, 1), dt.date(2024, 6, 1))
    fakes = [
        BisFake.from_wide_csv(SHARED / "rates" / "bis_WS_CBPOL_D_csv_col.csv"),
        FredFake.from_csv(SHARED / "oil" / "fred_DCOILBRENTEU_daily_1987_2025.csv", "DCOILBRENTEU"),
        MoexFake.from_iss_csv(SHARED / "markets" / "moex_IMOEX_daily_1997_2026.csv"),
        ImfFake({("CHN", "XG_FOB_USD", "RUS"): trade["X"], ("CHN", "MG_CIF_USD", "RUS"): trade["M"]}),
        ComtradeFake({(156, 643, "X"): trade["X"], (156, 643, "M"): trade["M"]}),
        GdeltFake(),
    ]
    return fakes


def make_app(fakes: list):
    def app(environ, start_response):
        request = WRequest(environ)
        for fake in fakes:
            if fake.path_pattern.match(request.path):
                return fake._handle(request)(environ, start_response)
        return Response("no such endpoint", status=404)(environ, start_response)

    return app


def write_config(path: Path, cbr_url: str, other_url: str, store: Path) -> None:
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
""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8770)
    parser.add_argument("--config", type=Path, help="write a settings file pointing at the replays")
    parser.add_argument("--store", type=Path, default=Path("/tmp/stresswatch-replay/sw.db"))
    args = parser.parse_args(argv)
    if not SHARED.is_dir():
        print(f"{SHARED} is absent", file=sys.stderr)
        return 2
    cbr = FakeCbr(history_from_shared(SHARED.parent.parent), port=args.port)
    cbr_url = cbr.start()
    server = make_server("127.0.0.1", args.port + 1, make_app(build_fakes()), threaded=True)
    other_url = f"http://127.0.0.1:{args.port + 1}"
    if args.config:
        write_config(args.config, cbr_url, other_url, args.store)
    print(f"CBR on {cbr_url}; BIS/FRED/MOEX/IMF/Comtrade/GDELT on {other_url}", flush=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        cbr.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
