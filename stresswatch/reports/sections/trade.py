"""The trade section: China–Russia monthly trade series (IMF IMTS, UN Comtrade) as known on D."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.values import iso, months_before, value_on_or_before, years_before

#: the series prefixes of China–Russia trade
TRADE_PREFIXES = ("imf.imts.CHN_RUS.", "comtrade.CHN_RUS.")


def trade(reader: SeriesReader, day: dt.date) -> dict[str, Any]:
    """China–Russia monthly trade when present (IMF IMTS, UN Comtrade): latest month known on D,
    the 3-month average and the 12-month log growth."""
    ids = [sid for prefix in TRADE_PREFIXES for sid in reader.ids(prefix)]
    rows = []
    for sid in ids:
        s = reader.read(sid, day, start=years_before(day, 12))
        if s.empty:
            continue
        info = reader.info(sid)
        last_date, last = s.index[-1].date(), float(s.iloc[-1])
        _, prev12 = value_on_or_before(s, months_before(last_date, 12))
        growth = (100.0 * math.log(last / prev12)) if prev12 and prev12 > 0 and last > 0 else None
        rows.append({"series": sid, "name": info["name"] if info else sid, "unit": info["unit"] if info else "",
                     "date": iso(last_date), "value": last, "avg_3m": float(s.iloc[-3:].mean()),
                     "log_growth_12m": growth})
    return {"available": bool(rows), "rows": rows,
            "message": "" if rows else "no China–Russia trade series known on this date (sources imf, comtrade)"}
