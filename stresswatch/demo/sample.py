"""The real sample shipped for the demo: Bank of Russia official USD, EUR and CNY rates (rubles per
1 unit, dated by the day they take effect) and the key rate (percent, daily), 2013-01-01 to
2024-05-31, as `demo/data/cbr_sample.csv.gz` (`series,date,value`, sorted; provenance and known
gaps in `demo/data/PROVENANCE.md`).

`read_sample()` returns the observations; `build_sample(shared_dir, out)` is how the file was
made from the copies of the Bank of Russia tables in ../shared/data/real (the only bulk data
allowed into the repository) — `python -m stresswatch.demo.sample ../shared/data/real` rebuilds it
byte for byte (gzip without a timestamp), and a test checks that it still does.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from stresswatch.fetchers.base import Observation, SeriesInfo
from stresswatch.fetchers.cbr import KEYRATE_SERIES, fx_series_id

#: the sample file inside the package
SAMPLE = "cbr_sample.csv.gz"
FIRST = dt.date(2013, 1, 1)
LAST = dt.date(2024, 5, 31)
CURRENCIES = ("USD", "EUR", "CNY")


@dataclass(frozen=True)
class Sample:
    """The shipped sample: its series (as the Bank of Russia fetcher declares them) and rows."""

    series: list[SeriesInfo]
    observations: list[Observation]

    @property
    def first(self) -> dt.date:
        return min(o.date for o in self.observations)

    @property
    def last(self) -> dt.date:
        return max(o.date for o in self.observations)


def series_infos() -> list[SeriesInfo]:
    """The sample's series, declared exactly as `fetchers.cbr` declares them, so a demo store looks
    like one filled by `stresswatch backfill --source cbr`."""
    out = [SeriesInfo(fx_series_id(iso), "cbr", f"Bank of Russia official rate, RUB per 1 {iso}",
                      f"RUB per 1 {iso}", "D", 0) for iso in CURRENCIES]
    out.append(SeriesInfo(KEYRATE_SERIES, "cbr", "Bank of Russia key rate", "percent", "D", 0))
    return out


def read_sample() -> Sample:
    """The shipped sample's observations."""
    raw = resources.files("stresswatch.demo.data").joinpath(SAMPLE).read_bytes()
    rows = csv.DictReader(io.StringIO(gzip.decompress(raw).decode("utf-8")))
    observations = [Observation(r["series"], dt.date.fromisoformat(r["date"]), float(r["value"])) for r in rows]
    return Sample(series_infos(), observations)


# ---------------------------------------------------------------------------------------------
# Building the sample (maintainers, from ../shared/data/real)
# ---------------------------------------------------------------------------------------------
def collect(shared_dir: str | Path) -> dict[str, dict[dt.date, str]]:
    """Series id -> date -> value text, from the Bank of Russia tables in `shared_dir`, within
    FIRST..LAST. Later files win on overlapping dates (they agree: see PROVENANCE.md)."""
    root = Path(shared_dir)
    if (root / "data" / "real").is_dir():
        root = root / "data" / "real"
    out: dict[str, dict[dt.date, str]] = {fx_series_id(c): {} for c in CURRENCIES}
    out[KEYRATE_SERIES] = {}
    with open(root / "fx" / "cbr_usd_rub_1992_2024.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[fx_series_id("USD")][dt.datetime.strptime(row["date"], "%m/%d/%Y").date()] = row["rate"]
    with open(root / "fx" / "cbr_eur_rub_1999_2020.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[fx_series_id("EUR")][dt.date.fromisoformat(row["date"])] = row["value"]
    with open(root / "fx" / "cbr_usd_eur_cny_rub_2021_2026.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[fx_series_id(row["currency"])][dt.date.fromisoformat(row["date"])] = row["rub_per_unit"]
    with open(root / "rates" / "cbr_key_rate_daily_2013_2023.tsv", newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)
        for date_text, rate in reader:
            out[KEYRATE_SERIES][dt.datetime.strptime(date_text, "%d.%m.%Y").date()] = rate
    with open(root / "rates" / "cbr_key_rate_daily_2021_2026.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out[KEYRATE_SERIES][dt.date.fromisoformat(row["date"])] = row["key_rate_pct"]
    return {sid: {d: v.strip() for d, v in values.items() if FIRST <= d <= LAST} for sid, values in out.items()}


def sample_bytes(shared_dir: str | Path) -> bytes:
    """The sample file's bytes built from `shared_dir` (deterministic: no gzip timestamp)."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["series", "date", "value"])
    for sid, values in sorted(collect(shared_dir).items()):
        for day in sorted(values):
            writer.writerow([sid, day.isoformat(), values[day]])
    return gzip.compress(text.getvalue().encode("utf-8"), compresslevel=9, mtime=0)


def build_sample(shared_dir: str | Path, out: str | Path) -> Path:
    """Write the sample built from `shared_dir` to `out`."""
    path = Path(out)
    path.write_bytes(sample_bytes(shared_dir))
    return path


if __name__ == "__main__":  # pragma: no cover - maintainers: python -m stresswatch.demo.sample ../shared/data/real
    target = Path(__file__).with_name("data") / SAMPLE
    print(build_sample(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/real", target),
          f"{target.stat().st_size} bytes")
