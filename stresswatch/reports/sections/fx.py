"""The ruble sections: official rates of the ruble against USD, EUR and CNY with their changes in
both conventions, and the league of emerging-market currencies against the US dollar from Bank
of Russia cross rates."""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import pandas as pd

from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.values import iso, months_before, value_on_or_before, years_before

#: the currencies of the ruble table (series cbr.fx.<code>)
FX_HEADLINE = ("USD", "EUR", "CNY")


def pct_change_per_unit(e0: float | None, e1: float | None) -> float | None:
    """% change in RUB per unit of foreign currency (e in RUB per unit): 100·(e1/e0 − 1)."""
    if e0 is None or e1 is None or e0 == 0:
        return None
    return 100.0 * (e1 / e0 - 1.0)


def pct_value_change(e0: float | None, e1: float | None) -> float | None:
    """% change of the ruble's value in that currency: 100·(e0/e1 − 1) (negative = loss)."""
    if e0 is None or e1 is None or e1 == 0:
        return None
    return 100.0 * (e0 / e1 - 1.0)


def _change_at(series: pd.Series, base_day: dt.date) -> tuple[str | None, float | None]:
    d, v = value_on_or_before(series, base_day)
    return iso(d), v


def fx_table(reader: SeriesReader, day: dt.date) -> list[dict[str, Any]]:
    """RUB per unit of USD, EUR, CNY: level and changes over 1 day, 1 month, year to date, 12 months,
    each in both conventions (% change in RUB per unit; % change of the ruble's value)."""
    rows = []
    for ccy in FX_HEADLINE:
        sid = f"cbr.fx.{ccy}"
        s = reader.read(sid, day, start=years_before(day, 2))
        if s.empty:
            rows.append({"currency": ccy, "series": sid, "available": False})
            continue
        last_date, last = s.index[-1].date(), float(s.iloc[-1])
        bases = {
            "1d": (iso(s.index[-2]), float(s.iloc[-2])) if len(s) > 1 else (None, None),
            "1m": _change_at(s, months_before(last_date, 1)),
            "ytd": _change_at(s, dt.date(day.year - 1, 12, 31)),
            "12m": _change_at(s, months_before(last_date, 12)),
        }
        changes = {}
        for key, (bdate, bval) in bases.items():
            changes[key] = {"base_date": bdate, "base": bval,
                            "pct_rub_per_unit": pct_change_per_unit(bval, last),
                            "pct_ruble_value": pct_value_change(bval, last)}
        rows.append({"currency": ccy, "series": sid, "available": True, "date": iso(last_date), "rate": last,
                     "changes": changes})
    return rows


def em_league(reader: SeriesReader, day: dt.date, currencies: Sequence[str]) -> dict[str, Any]:
    """Year-to-date change of emerging-market currencies (`[report] em_currencies`) against the US
    dollar from Bank of Russia cross rates: X per USD = cbr.fx.USD / cbr.fx.X on the same fixing
    date; the ruble is cbr.fx.USD itself. Base = last common fixing on or before 31 Dec of the
    previous year."""
    wanted = [c.upper() for c in currencies if c.upper() not in ("USD", "RUB")]
    base_day = dt.date(day.year - 1, 12, 31)
    start = base_day - dt.timedelta(days=40)
    usd = reader.read("cbr.fx.USD", day, start=start)
    hint = ("add the missing codes to [sources.cbr] currencies in your settings, then run "
            "`stresswatch backfill --source cbr --start " + base_day.replace(month=1, day=1).isoformat() + "`")
    if usd.empty:
        return {"available": False, "rows": [], "missing": wanted, "hint": hint, "rub_rank": None,
                "message": f"no USD rate (cbr.fx.USD) known on {day}; the league table needs it"}
    rows, missing = [], []

    def row(ccy: str, per_usd: pd.Series) -> dict[str, Any] | None:
        per_usd = per_usd.dropna()
        bd, bv = value_on_or_before(per_usd, base_day)
        if per_usd.empty or bv is None:
            return None
        cd, cv = per_usd.index[-1].date(), float(per_usd.iloc[-1])
        return {"currency": ccy, "date": iso(cd), "per_usd": cv, "base_date": iso(bd), "base_per_usd": bv,
                "pct_per_usd": pct_change_per_unit(bv, cv), "pct_value_vs_usd": pct_value_change(bv, cv)}

    rub = row("RUB", usd)
    if rub:
        rows.append(rub)
    for ccy in wanted:
        sid = f"cbr.fx.{ccy}"
        if reader.info(sid) is None:
            missing.append(ccy)
            continue
        x = reader.read(sid, day, start=start)
        common = usd.index.intersection(x.index)
        r = row(ccy, (usd.loc[common] / x.loc[common]).rename(ccy)) if len(common) else None
        if r is None:
            missing.append(ccy)
        else:
            rows.append(r)
    rows.sort(key=lambda r: (-r["pct_value_vs_usd"], r["currency"]))
    for i, r in enumerate(rows, 1):
        r["rank"] = i
    return {"available": bool(rows), "rows": rows, "missing": missing, "hint": hint if missing else "",
            "base_rule": f"last common fixing on or before {base_day}",
            "rub_rank": rub and next(r["rank"] for r in rows if r["currency"] == "RUB"), "count": len(rows),
            "message": ""}
