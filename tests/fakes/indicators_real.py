"""Real history from ../shared/data/real in a Store, for the tests and benchmarks of the indicators
and the stress index (None / skipped when the folder is absent).

* `load_real(store)`: the CBR USD/EUR, key rate, Brent and IMOEX files written directly.
* `replay_store(path)`: the "real-only store" of issue 12 — the CBR (USD, EUR, CNY, key rate),
  BIS, FRED and MOEX replays of tests/fakes/replay.py on local HTTP servers, backfilled through
  the real pipeline (`sources=TRADE_SOURCES` on a copy adds the replay's synthetic monthly IMF
  and Comtrade trade), fetched on `FETCHED`, long after the fact, so every row is known on its
  date + lag.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from pathlib import Path
from typing import Iterator

import pandas as pd

from stresswatch import pipeline
from stresswatch import settings as settings_mod
from stresswatch.clock import FixedClock
from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.store import Store
from tests.conftest import shared_root

REAL = shared_root() / "data" / "real"


def real_dir() -> Path | None:
    return REAL if (REAL / "fx" / "cbr_usd_rub_1992_2024.csv").is_file() else None


def _usd() -> pd.Series:
    old = pd.read_csv(REAL / "fx" / "cbr_usd_rub_1992_2024.csv")
    s = pd.Series(old["rate"].to_numpy(float), index=pd.to_datetime(old["date"], format="%m/%d/%Y"))
    new = _recent("USD")
    return pd.concat([s[s.index < new.index[0]], new]).sort_index()


def _recent(code: str) -> pd.Series:
    f = pd.read_csv(REAL / "fx" / "cbr_usd_eur_cny_rub_2021_2026.csv")
    f = f[f["currency"] == code]
    return pd.Series(f["rub_per_unit"].to_numpy(float), index=pd.to_datetime(f["date"])).sort_index()


def _eur() -> pd.Series:
    old = pd.read_csv(REAL / "fx" / "cbr_eur_rub_1999_2020.csv")
    s = pd.Series(old["value"].to_numpy(float), index=pd.to_datetime(old["date"]))
    return pd.concat([s, _recent("EUR")]).sort_index()


def _keyrate() -> pd.Series:
    old = pd.read_csv(REAL / "rates" / "cbr_key_rate_daily_2013_2023.tsv", sep="\t")
    s = pd.Series(old.iloc[:, 1].to_numpy(float), index=pd.to_datetime(old.iloc[:, 0], format="%d.%m.%Y"))
    new = pd.read_csv(REAL / "rates" / "cbr_key_rate_daily_2021_2026.csv")
    n = pd.Series(new["key_rate_pct"].to_numpy(float), index=pd.to_datetime(new["date"]))
    s = pd.concat([s[s.index < n.index[0]], n]).sort_index()
    # the CBR table starts on 2013-09-17 although the rate exists from 2013-09-13
    return pd.concat([pd.Series([5.5], index=[pd.Timestamp("2013-09-13")]), s])


def _brent() -> pd.Series:
    f = pd.read_csv(REAL / "oil" / "fred_DCOILBRENTEU_daily_1987_2025.csv")
    return pd.Series(pd.to_numeric(f["value"], errors="coerce").to_numpy(float),
                     index=pd.to_datetime(f["date"])).dropna()


def _imoex() -> pd.Series:
    f = pd.read_csv(REAL / "markets" / "moex_IMOEX_daily_1997_2026.csv", sep=";", dtype=str)
    close = pd.to_numeric(f["CLOSE"].str.replace(",", "."), errors="coerce")
    return pd.Series(close.to_numpy(float), index=pd.to_datetime(f["TRADEDATE"], format="%d.%m.%Y")).dropna()


LOADERS = {
    "cbr.fx.USD": (_usd, "RUB per 1 USD", "cbr"),
    "cbr.fx.EUR": (_eur, "RUB per 1 EUR", "cbr"),
    "cbr.keyrate": (_keyrate, "percent", "cbr"),
    "fred.DCOILBRENTEU": (_brent, "USD per barrel", "fred"),
    "moex.index.IMOEX": (_imoex, "index points", "moex"),
}


def load_real(store, series: tuple[str, ...] = tuple(LOADERS), start: str = "1996-01-01",
              end: str | None = None) -> dict[str, int]:
    """Write the chosen real series into `store` as fetched long after the fact (known_at = date)."""
    out = {}
    for sid in series:
        loader, unit, source = LOADERS[sid]
        s = loader()
        s = s[(s.index >= start) & ((s.index <= end) if end else True)]
        s = s[~s.index.duplicated(keep="last")]
        store.observations.upsert_series([SeriesInfo(sid, source, sid, unit, "D", 0)])
        obs = [Observation(sid, d.date(), float(v)) for d, v in s.items()]
        out[sid] = store.observations.write_observations(obs,
                                                         fetched_at=dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc))
    return out


#: the as-of date of issue 12's numbers, and when the replayed history counts as fetched
ASOF = dt.date(2026, 8, 20)
FETCHED = "2026-11-28T12:00:00Z"
SOURCES = ("cbr", "bis", "fred", "moex")
TRADE_SOURCES = ("imf", "comtrade")


@contextlib.contextmanager
def replay_servers(config: Path, store: Path) -> Iterator[Path]:
    """The replays of tests/fakes/replay.py on local HTTP servers, for as long as the block runs,
    and a settings file at `config` pointing every source at them (and the store at `store`)."""
    import logging

    from werkzeug.serving import make_server

    from tests.fakes.cbr import FakeCbr, history_from_shared
    from tests.fakes.replay import build_fakes, make_app, write_config

    if real_dir() is None:
        raise FileNotFoundError(f"{REAL} is absent")
    with FakeCbr(history_from_shared(REAL.parent.parent)) as cbr:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        server = make_server("127.0.0.1", 0, make_app(build_fakes()), threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            write_config(config, cbr.base_url, f"http://127.0.0.1:{server.server_port}", store)
            yield config
        finally:
            server.shutdown()


def replay_store(path: Path, end: dt.date = ASOF, sources: tuple[str, ...] = SOURCES) -> Path:
    """Backfill 1999-01-01..`end` of `sources` from the replays into the store at `path` (see the
    module docstring; TRADE_SOURCES adds the monthly trade); returns `path`. Needs
    ../shared/data/real."""
    path = Path(path)
    config = path.with_name(path.name + ".replay.toml")
    try:
        with replay_servers(config, path):
            settings = settings_mod.load(config, environ={})
            with Store.open(path) as store:
                report = pipeline.backfill(store, settings, dt.date(1999, 1, 1), end, sources, progress=False,
                                           clock=FixedClock(FETCHED))
                last = {src: max((s["last"] for s in store.observations.list_series(source=src) if s["last"]),
                                 default=None) for src in sources}
    finally:
        config.unlink(missing_ok=True)
    failed = [o for o in report.outcomes if o.status in ("failed", "abandoned") and not _after_the_data(o, last)]
    if failed:
        raise RuntimeError(f"replay backfill failed: {failed[0].source}: {failed[0].error}")
    return path


def _after_the_data(outcome, last: dict[str, str | None]) -> bool:
    """A partition that failed only because the replay holds nothing that late: the files in
    ../shared end (BIS policy rates in May 2022), so the pipeline rightly calls an empty answer for
    a later window a hole and will ask again. Any other failure is a failure."""
    start = outcome.partition.split("..")[0]
    end_of_data = last.get(outcome.source)
    return (outcome.status == "failed" and end_of_data is not None and end_of_data < start
            and all(part.strip() == "will ask again" or ": no values for " in part
                    for part in outcome.error.split(";") if part.strip()))
