"""The rates sections: the Bank of Russia key rate as known on D with its decisions (extraordinary
ones flagged by `stresswatch.indicators.rates` against the meeting schedule), and the latest
central-bank policy rates (BIS; Russia from the key rate) with their changes and ranks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from stresswatch.fetchers.bis import AREA_NAMES
from stresswatch.indicators import rates
from stresswatch.indicators.rates import MeetingSchedule
from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.values import iso, months_before, value_on_or_before, years_before

#: the key-rate series
KEYRATE = "cbr.keyrate"


def keyrate_decisions(series: pd.Series, schedule: MeetingSchedule | None = None) -> list[dict[str, Any]]:
    """Decision days (the days a key-rate change took effect) with the extraordinary flag from
    `stresswatch.indicators.rates` (a change of 200 bp or more, or one that follows no scheduled
    board meeting; the schedule is data, `config/cbr_meetings.toml`, loaded when not given)."""
    s = series.dropna()
    if len(s) < 2:
        return []
    changes = rates.decision_days(s)
    flags = rates.extraordinary_flags(s, schedule if schedule is not None else rates.load_meetings())
    out = []
    for day, delta in changes.items():
        new = float(s.loc[day])
        bp = int(round(float(delta) * 100))
        extra = bool(flags.get(day, 0.0) >= 1.0)
        reason = ""
        if extra:
            reason = "change of 200 bp or more" if abs(bp) >= rates.EXTRAORDINARY_BP else "outside the meeting schedule"
        out.append({"date": iso(day), "old": new - float(delta), "new": new, "change_bp": bp,
                    "extraordinary": extra, "reason": reason})
    return out


def keyrate(reader: SeriesReader, day: dt.date, schedule: MeetingSchedule | None = None) -> dict[str, Any]:
    """The key rate in force on D, its last decision, the decisions of the last 12 months (newest
    first) and every decision known on D."""
    s = reader.read(KEYRATE, day)
    if s.empty:
        return {"available": False, "series": KEYRATE, "message": f"no key rate known on {day}"}
    decisions = keyrate_decisions(s, schedule)
    recent = [d for d in decisions if d["date"] >= months_before(day, 12).isoformat()]
    return {"available": True, "series": KEYRATE, "date": iso(s.index[-1]), "value": float(s.iloc[-1]),
            "last_decision": decisions[-1] if decisions else None, "decisions_12m": recent[::-1],
            "decisions": decisions}


def policy_rates(reader: SeriesReader, day: dt.date) -> dict[str, Any]:
    """Latest policy rate per central bank as known on D, 3- and 12-month changes (percentage
    points), rank (1 = highest). Russia uses the Bank of Russia key rate (daily, first-hand)."""
    series = {sid.split(".")[-1]: sid for sid in reader.ids("bis.cbpol.")}
    if reader.info(KEYRATE) is not None:
        series["RU"] = KEYRATE
    rows = []
    for area, sid in sorted(series.items()):
        s = reader.read(sid, day, start=years_before(day, 2))
        if s.empty:
            continue
        last_date, last = s.index[-1].date(), float(s.iloc[-1])
        _, v3 = value_on_or_before(s, months_before(day, 3))
        _, v12 = value_on_or_before(s, months_before(day, 12))
        rows.append({"area": area,
                     "name": "Russia (Bank of Russia key rate)" if sid == KEYRATE else AREA_NAMES.get(area, area),
                     "series": sid, "date": iso(last_date), "rate": last,
                     "change_3m": None if v3 is None else last - v3,
                     "change_12m": None if v12 is None else last - v12,
                     "age_days": (day - last_date).days, "old": (day - last_date).days > 62})
    rows.sort(key=lambda r: (-r["rate"], r["area"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    ru = next((r["rank"] for r in rows if r["area"] == "RU"), None)
    return {"available": bool(rows), "rows": rows, "russia_rank": ru, "count": len(rows),
            "message": "" if rows else f"no policy rates known on {day} (sources bis, cbr)"}
