"""The report context: every figure of the report for one date D, as plain data, built in one place.

`ContextBuilder(store, settings).build(D)` returns a `ReportData`: `context` (a JSON-able dict the
HTML/Markdown templates and `report.json` all read) and `charts` (the chart specs drawn by
`reports.charts`). Everything in it is a function of D and the data known on D:

- series are read as of D (`store.observations.read_series(..., asof=D)` semantics, vintages respected);
- the regime headline comes from the headline model's run as of D (`stresswatch.regimes`);
- statements are aligned as of D (`stresswatch.events`);
- the run ledger is not versioned, so its freshness facts (last success, last error) are taken
  from ledger rows finished on or before D and frozen in `report_ledger_snapshots` once D is over
  (see `reports.archive`), so a later fetch cannot change D's report.

The only value that is not a function of D is the top-level `generated_at`.

For a range of dates build one `ContextBuilder(..., cache=True)` and call `build` per date: series
vintages are read once per series and each as-of view is cut in memory; the previous day's
headline is reused.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from stresswatch.bizdays import business_days, previous_business_day
from stresswatch.regimes.state import RegimeState, regime_state
from stresswatch.reports.charts import ChartSpec
from stresswatch.settings import Settings
from stresswatch.store import Store
from stresswatch.status import fetch_age, series_stale
from stresswatch.store.observations import SeriesListing

SCHEMA_VERSION = 1

#: series the report reads by name
STRESS_INDEX = "stress.index"
KEYRATE = "cbr.keyrate"
FX_HEADLINE = ("USD", "EUR", "CNY")


@dataclass
class ReportData:
    """What one report is made of: the plain context and the chart specs."""

    date: dt.date
    context: dict[str, Any]
    charts: list[ChartSpec] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Series as known on D
# ---------------------------------------------------------------------------------------------
class SeriesReader:
    """`read(series_id, asof, start)` with the store's as-of semantics.

    Without cache every call goes to `store.observations.read_series`. With `cache=True` each series' vintages
    are read once (all rows: date, known_at, value) and each as-of view is cut in memory: per date,
    the latest vintage with known_at <= asof — the same rule as `store.observations.read_vintaged`.
    """

    def __init__(self, store: Store, cache: bool = False):
        self.store = store
        self.cache = cache
        self._vintages: dict[str, pd.DataFrame] = {}
        self._catalog: list[SeriesListing] | None = None

    def catalog(self) -> list[SeriesListing]:
        """`store.observations.list_series()` (memoised when caching)."""
        if self._catalog is None or not self.cache:
            self._catalog = self.store.observations.list_series()
        return self._catalog

    def ids(self, prefix: str) -> list[str]:
        return sorted(r["id"] for r in self.catalog() if r["id"].startswith(prefix))

    def info(self, series_id: str) -> Mapping[str, Any] | None:
        for row in self.catalog():
            if row["id"] == series_id:
                return row
        return None

    def read(self, series_id: str, asof: dt.date, start: dt.date | None = None) -> pd.Series:
        if not self.cache:
            return self.store.observations.read_series(series_id, start=start, end=asof, asof=asof)
        frame = self._vintages.get(series_id)
        if frame is None:
            frame = self.store.observations.all_vintages(series_id)
            self._vintages[series_id] = frame
        stamp = np.datetime64(asof, "D")
        known = frame[(frame["known_at"].to_numpy() <= stamp) & (frame["date"].to_numpy() <= stamp)]
        if start is not None:
            known = known[known["date"].to_numpy() >= np.datetime64(start, "D")]
        known = known.drop_duplicates("date", keep="last")
        if known.empty:  # same empty shape as store.observations.read_series
            return pd.Series(np.array([], dtype=float), index=pd.DatetimeIndex(pd.to_datetime([]), name="date"),
                             name=series_id)
        return pd.Series(known["value"].to_numpy(dtype=float), index=pd.DatetimeIndex(known["date"], name="date"),
                         name=series_id)

# ---------------------------------------------------------------------------------------------
# Small pure helpers (tested directly)
# ---------------------------------------------------------------------------------------------
def value_on_or_before(series: pd.Series, day: dt.date) -> tuple[dt.date | None, float | None]:
    """The last observation dated on or before `day`."""
    if series.empty:
        return None, None
    cut = series.loc[: pd.Timestamp(day)]
    if cut.empty:
        return None, None
    return cut.index[-1].date(), float(cut.iloc[-1])


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


def recursive_percentile(series: pd.Series) -> float | None:
    """Share of observations up to the last one that are <= the last one (no look-ahead)."""
    values = series.dropna().to_numpy(dtype=float)
    if len(values) == 0:
        return None
    return float((values <= values[-1]).mean())


def num(value: Any) -> float | None:
    """A finite float or None."""
    if value is None:
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def iso(day: dt.date | pd.Timestamp | str | None) -> str | None:
    if day is None:
        return None
    if isinstance(day, str):
        return day[:10]
    return day.isoformat()[:10]


def points(series: pd.Series) -> tuple[list[str], list[float]]:
    """A series as (ISO dates, floats) for a chart spec."""
    s = series.dropna()
    return [d.strftime("%Y-%m-%d") for d in s.index], [float(v) for v in s.to_numpy(dtype=float)]


# ---------------------------------------------------------------------------------------------
# The builder
# ---------------------------------------------------------------------------------------------
class ContextBuilder:
    """Builds `ReportData` for dates; reuse one instance (cache=True) for a range of dates."""

    def __init__(self, store: Store, settings: Settings, *, cache: bool = False,
                 now: Callable[[], dt.datetime] | None = None, today: dt.date | None = None,
                 write_snapshots: bool = True):
        self.store = store
        self.settings = settings
        self.reader = SeriesReader(store, cache=cache)
        self.now = now or (lambda: dt.datetime.now(dt.timezone.utc))
        #: the clock's date: decides whether D is over (ledger snapshots are frozen after D)
        self.today = today
        #: store ledger snapshots (report_ledger_snapshots); False for read-only previews
        self.write_snapshots = write_snapshots
        self._headline_memo: dict[dt.date, dict[str, Any]] = {}
        self._regime_memo: dict[dt.date, RegimeState] = {}
        self._memo: dict[str, Any] = {}

    # memo for things that do not change per day within one builder (catalogue, schedule)
    def memo(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def ledger_facts(self, sources: list[str], day: dt.date) -> dict[str, dict[str, Any]]:
        from stresswatch.reports import archive

        today = self.today or self.now().astimezone(dt.timezone.utc).date()
        return archive.ledger_snapshot(self.store, sources, day, today, write=self.write_snapshots)

    def regime(self, day: dt.date) -> RegimeState:
        """The headline model's regime state as of `day` (memoised)."""
        if day not in self._regime_memo:
            self._regime_memo[day] = regime_state(self.store, self.settings, day)
        return self._regime_memo[day]

    def headline(self, day: dt.date) -> dict[str, Any]:
        if day not in self._headline_memo:
            self._headline_memo[day] = regime_headline(self, day)
        return self._headline_memo[day]

    def build(self, day: dt.date) -> ReportData:
        if isinstance(day, dt.datetime):
            day = day.date()
        ctx: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "generated_at": self.now().astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()
            .replace("+00:00", "Z"),
            "date": day.isoformat(),
            "previous_date": previous_business_day(day).isoformat(),
            "warnings": [],
        }
        warnings: list[dict[str, str]] = ctx["warnings"]
        head = dict(self.headline(day))
        prev = self.headline(previous_business_day(day))
        add_change(head, prev)
        ctx["headline"] = head
        ctx["stress_index"] = stress_index(self, day)
        ctx["fx"] = fx_table(self, day)
        ctx["keyrate"] = keyrate(self, day)
        ctx["policy_rates"] = policy_rates(self, day)
        ctx["em_league"] = em_league(self, day)
        ctx["trade"] = trade(self, day)
        ctx["statements"] = statements(self, day)
        ctx["freshness"] = freshness(self, day)
        ctx["model"] = head.pop("model", None)
        ctx["method"] = method_notes(self, ctx)
        warnings.extend(collect_warnings(ctx))
        charts = chart_specs(self, day, ctx)
        ctx["charts"] = [{"id": c.id, "file": c.file, "title": c.title, "alt": c.alt} for c in charts]
        return ReportData(date=day, context=ctx, charts=charts)


def build_context(store: Store, settings: Settings, day: dt.date, **kwargs: Any) -> ReportData:
    """One date's report data (convenience wrapper around `ContextBuilder`)."""
    return ContextBuilder(store, settings, **kwargs).build(day)


def daterange(start: dt.date, end: dt.date) -> Iterable[dt.date]:
    """Business days start..end inclusive (Mon–Fri; `stresswatch.bizdays`)."""
    return business_days(start, end)


# ---------------------------------------------------------------------------------------------
# Sections. Each takes the builder (reader, settings, memo) and D and returns plain data.
# ---------------------------------------------------------------------------------------------
def _years_before(day: dt.date, years: int) -> dt.date:
    return (pd.Timestamp(day) - pd.DateOffset(years=years)).date()


def _months_before(day: dt.date, months: int) -> dt.date:
    return (pd.Timestamp(day) - pd.DateOffset(months=months)).date()


def _change_at(series: pd.Series, base_day: dt.date) -> tuple[str | None, float | None]:
    d, v = value_on_or_before(series, base_day)
    return iso(d), v


def stress_index(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """Latest composite index as known on D, its recursive percentile, changes and segments."""
    s = b.reader.read(STRESS_INDEX, day)
    if s.empty:
        return {"available": False, "series": STRESS_INDEX,
                "message": f"no value of {STRESS_INDEX} is known on {day}; run `stresswatch compute --asof {day}`"}
    out: dict[str, Any] = {
        "available": True, "series": STRESS_INDEX, "date": iso(s.index[-1]), "value": float(s.iloc[-1]),
        "percentile": recursive_percentile(s), "history_start": iso(s.index[0]), "observations": int(len(s)),
    }
    for k in (1, 5, 20):
        out[f"change_{k}"] = float(s.iloc[-1] - s.iloc[-1 - k]) if len(s) > k else None
    out["segments"] = _latest_rows(b, day, "stress.segment.")
    out["contributions"] = _latest_rows(b, day, "stress.contrib.")
    return out


def _latest_rows(b: "ContextBuilder", day: dt.date, prefix: str) -> list[dict[str, Any]]:
    rows = []
    for sid in b.reader.ids(prefix):
        s = b.reader.read(sid, day, start=_years_before(day, 1))
        if s.empty:
            continue
        rows.append({"name": sid[len(prefix):], "series": sid, "date": iso(s.index[-1]), "value": float(s.iloc[-1])})
    return rows


def fx_table(b: "ContextBuilder", day: dt.date) -> list[dict[str, Any]]:
    """RUB per unit of USD, EUR, CNY: level and changes over 1 day, 1 month, year to date, 12 months,
    each in both conventions (% change in RUB per unit; % change of the ruble's value)."""
    rows = []
    for ccy in FX_HEADLINE:
        sid = f"cbr.fx.{ccy}"
        s = b.reader.read(sid, day, start=_years_before(day, 2))
        if s.empty:
            rows.append({"currency": ccy, "series": sid, "available": False})
            continue
        last_date, last = s.index[-1].date(), float(s.iloc[-1])
        bases = {
            "1d": (iso(s.index[-2]), float(s.iloc[-2])) if len(s) > 1 else (None, None),
            "1m": _change_at(s, _months_before(last_date, 1)),
            "ytd": _change_at(s, dt.date(day.year - 1, 12, 31)),
            "12m": _change_at(s, _months_before(last_date, 12)),
        }
        changes = {}
        for key, (bdate, bval) in bases.items():
            changes[key] = {"base_date": bdate, "base": bval,
                            "pct_rub_per_unit": pct_change_per_unit(bval, last),
                            "pct_ruble_value": pct_value_change(bval, last)}
        rows.append({"currency": ccy, "series": sid, "available": True, "date": iso(last_date), "rate": last,
                     "changes": changes})
    return rows


def keyrate_decisions(series: pd.Series, schedule: Any = None) -> list[dict[str, Any]]:
    """Decision days (the days a key-rate change took effect) with the extraordinary flag from
    `stresswatch.indicators.rates` (a change of 200 bp or more, or one that follows no scheduled
    board meeting; the schedule is data, `config/cbr_meetings.toml`)."""
    from stresswatch.indicators import rates

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


def keyrate(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    s = b.reader.read(KEYRATE, day)
    if s.empty:
        return {"available": False, "series": KEYRATE, "message": f"no key rate known on {day}"}
    from stresswatch.indicators import rates

    decisions = keyrate_decisions(s, b.memo("meetings", rates.load_meetings))
    recent = [d for d in decisions if d["date"] >= _months_before(day, 12).isoformat()]
    return {"available": True, "series": KEYRATE, "date": iso(s.index[-1]), "value": float(s.iloc[-1]),
            "last_decision": decisions[-1] if decisions else None, "decisions_12m": recent[::-1],
            "decisions": decisions}


def _area_name(area: str) -> str:
    try:
        from stresswatch.fetchers.bis import AREA_NAMES
    except ImportError:  # pragma: no cover - the BIS fetcher ships with the package
        return area
    return AREA_NAMES.get(area, area)


def policy_rates(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """Latest policy rate per central bank as known on D, 3- and 12-month changes (percentage
    points), rank (1 = highest). Russia uses the Bank of Russia key rate (daily, first-hand)."""
    series = {sid.split(".")[-1]: sid for sid in b.reader.ids("bis.cbpol.")}
    if b.reader.info(KEYRATE) is not None:
        series["RU"] = KEYRATE
    rows = []
    for area, sid in sorted(series.items()):
        s = b.reader.read(sid, day, start=_years_before(day, 2))
        if s.empty:
            continue
        last_date, last = s.index[-1].date(), float(s.iloc[-1])
        _, v3 = value_on_or_before(s, _months_before(day, 3))
        _, v12 = value_on_or_before(s, _months_before(day, 12))
        rows.append({"area": area, "name": "Russia (Bank of Russia key rate)" if sid == KEYRATE else _area_name(area),
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


def em_league(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """Year-to-date change of emerging-market currencies against the US dollar from Bank of Russia
    cross rates: X per USD = cbr.fx.USD / cbr.fx.X on the same fixing date; the ruble is
    cbr.fx.USD itself. Base = last common fixing on or before 31 Dec of the previous year."""
    wanted = [c.upper() for c in b.settings["report"]["em_currencies"] if c.upper() not in ("USD", "RUB")]
    base_day = dt.date(day.year - 1, 12, 31)
    start = base_day - dt.timedelta(days=40)
    usd = b.reader.read("cbr.fx.USD", day, start=start)
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
        if b.reader.info(sid) is None:
            missing.append(ccy)
            continue
        x = b.reader.read(sid, day, start=start)
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


def trade(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """China–Russia monthly trade when present (IMF IMTS, UN Comtrade): latest month known on D,
    the 3-month average and the 12-month log growth."""
    ids = b.reader.ids("imf.imts.CHN_RUS.") + b.reader.ids("comtrade.CHN_RUS.")
    rows = []
    for sid in ids:
        s = b.reader.read(sid, day, start=_years_before(day, 12))
        if s.empty:
            continue
        info = b.reader.info(sid) or {}
        last_date, last = s.index[-1].date(), float(s.iloc[-1])
        _, prev12 = value_on_or_before(s, _months_before(last_date, 12))
        growth = (100.0 * math.log(last / prev12)) if prev12 and prev12 > 0 and last > 0 else None
        rows.append({"series": sid, "name": info.get("name", sid), "unit": info.get("unit", ""),
                     "date": iso(last_date), "value": last, "avg_3m": float(s.iloc[-3:].mean()),
                     "log_growth_12m": growth})
    return {"available": bool(rows), "rows": rows,
            "message": "" if rows else "no China–Russia trade series known on this date (sources imf, comtrade)"}


# ---------------------------------------------------------------------------------------------
# Data freshness as known on D
# ---------------------------------------------------------------------------------------------
def freshness(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """Per source: last observation known on D, last success and last error of its fetches on or
    before D (run ledger, frozen after D), and a stale flag: the freshest series' next value is
    overdue by more than `[report] stale_days` business days, or no fetch succeeded within the
    source's `stale_days`. The rules are `stresswatch.status`'s (`series_stale`, `fetch_age`), applied
    to what is known on D."""
    settings = b.settings
    by_source: dict[str, list[Mapping[str, Any]]] = {}
    for row in b.reader.catalog():
        by_source.setdefault(row["source"], []).append(row)
    sources = [s for s in settings.source_ids if settings.source(s)["enabled"] or s in by_source]
    facts = b.ledger_facts(sources, day)
    limit = settings["report"]["stale_days"]
    rows = []
    for source in sources:
        conf = settings.source(source)
        per_series = []
        for info in by_source.get(source, []):
            s = b.reader.read(info["id"], day, start=_years_before(day, 3))
            last = s.index[-1].date() if not s.empty else None
            per_series.append({"series": info["id"], "last": iso(last),
                               "stale": series_stale(last, info["frequency"], info["publication_lag_days"], day,
                                                     limit)})
        with_data = [p for p in per_series if p["last"]]
        last_obs = max((p["last"] for p in with_data), default=None)
        f = facts.get(source, {})
        reasons = []
        if with_data and all(p["stale"] for p in with_data):
            reasons.append(f"newest observation {last_obs} is overdue by more than {limit} business days")
        if f.get("last_success"):
            gap = fetch_age(f["last_success"], day)
            if gap > conf["stale_days"]:
                reasons.append(f"no successful fetch for {gap} business days")
        stale_series = [p["series"] for p in with_data if p["stale"]]
        rows.append({
            "source": source, "enabled": bool(conf["enabled"]), "series": len(per_series),
            "series_with_data": len(with_data), "last_observation": last_obs,
            "last_success": f.get("last_success"), "last_error": f.get("last_error"),
            "last_error_at": f.get("last_error_at"),
            "stale": bool(reasons) if with_data or f.get("last_success") else None,
            "stale_reason": "; ".join(reasons), "stale_series": stale_series,
            "status": ("disabled" if not conf["enabled"] else "no data" if not with_data
                       else "stale" if reasons else "ok"),
        })
    return {"rows": rows, "stale_days": limit}


# ---------------------------------------------------------------------------------------------
# Regimes (headline model) and statements: adapters to stresswatch.regimes / stresswatch.events
# ---------------------------------------------------------------------------------------------
def regime_headline(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """The headline model's state on D (the regime read model as of D) as report data."""
    state = b.regime(day)
    base = {"model_id": state.model_id, "available": False, "date": day.isoformat()}
    if not state.available:
        base["message"] = (f"{state.message}; run `stresswatch compute --asof {day}` and render the report again"
                           if state.run is None else state.message)
        return base
    return _headline_from_state(b, state, base)


def add_change(head: dict[str, Any], prev: dict[str, Any]) -> None:
    """Change since the previous report: the previous business day's headline (its own run as of
    that day). When no run existed then, the previous observation of D's run is used instead and
    `basis` says so."""
    if prev.get("available") or not head.get("previous_observation"):
        head["previous"] = {"date": prev.get("date"), "available": bool(prev.get("available")),
                            "regime": prev.get("regime"), "p_stress_filtered": prev.get("p_stress_filtered"),
                            "basis": "previous report"}
    else:
        po = head["previous_observation"]
        prev = {"available": True, **po}
        head["previous"] = {**po, "available": True, "basis": f"previous observation of the run as of "
                                                              f"{head.get('run_asof')} (no run existed on {po['date']})"}
    p1, p0 = head.get("p_stress_filtered"), prev.get("p_stress_filtered")
    head["p_stress_change"] = (p1 - p0) if p1 is not None and p0 is not None else None
    head["regime_changed"] = (head.get("regime") != prev.get("regime")) if head.get("available") and prev.get(
        "available") else None


def statements(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    """Statements near D and the whole catalogue aligned as of D (`stresswatch.events`): the
    alignment the daily cycle stored for D when there is one, else aligned here."""
    return _statements_from_events(b, day)


# ---------------------------------------------------------------------------------------------
# Method notes and warnings
# ---------------------------------------------------------------------------------------------
DEFINITIONS: list[tuple[str, str]] = [
    ("As of D", "Every figure uses only data known on the report date D: each stored value carries the date it "
                "became known (its vintage), and values published after D are ignored, even for earlier dates. "
                "Rendering D again later gives the same report apart from its generated-at time."),
    ("P(stress), filtered", "Probability that the headline model is in its stress regime on D given the data up "
                            "to D only (Hamilton filter with the parameters of the model run as of D). This is "
                            "the real-time figure used for the headline and alerts."),
    ("P(stress), smoothed", "Probability given all data in the run's sample (Kim smoother): for past dates it "
                            "also uses later observations, so it is sharper but revised as data arrive. Used "
                            "only to shade past stress periods on the charts."),
    ("Regime", "The regime with the highest filtered probability on D. Regimes are ordered by variance after "
               "every fit: the first is the calmest, the last is 'stress'."),
    ("Days in regime", "Business days (model periods) since the filtered regime last changed."),
    ("Expected duration", "1 / (1 − p_ii) periods, with p_ii the estimated probability of staying in the "
                          "current regime from one period to the next."),
    ("P(stress in h days)", "h-step regime forecast P^h·π_D from the filtered regime distribution π_D on D "
                            "and the estimated transition matrix P (h = 5 and 20 business days)."),
    ("Stress index", "CISS-style composite (stress.index): each raw measure is ranked by a recursive "
                     "empirical CDF (only observations up to t), segments are means of their ranks, and the "
                     "index is (w∘s)ᵀ C (w∘s) with EWMA correlations C (λ from [compute] ewma_lambda). "
                     "Between 0 and 1; the percentile is the share of index values up to D that are at or "
                     "below D's value."),
    ("Segment contribution", "The part of the index attributable to one segment (stress.contrib.*); the "
                             "contributions add up to the index."),
    ("Depreciation, % RUB per unit", "100·(e₁/e₀ − 1) with e in rubles per unit of foreign currency: "
                                     "positive = the ruble weakened. 70.34 → 101.04 is +43.6%."),
    ("Depreciation, % of ruble value", "100·(e₀/e₁ − 1): the change of the ruble's value in that currency; "
                                       "70.34 → 101.04 is −30.4% (a 30.4% loss of value). Both are shown "
                                       "because they differ."),
    ("Horizons", "1d = previous fixing; 1m and 12m = the fixing in force one and twelve calendar months "
                 "before the latest fixing; YTD = the fixing in force on 31 December of the previous year. "
                 "Bank of Russia rates are dated by the day they take effect (fixed the business day before)."),
    ("EM currency league", "X per US dollar = cbr.fx.USD / cbr.fx.X on the same Bank of Russia fixing "
                           "date (cross rates); the ruble is cbr.fx.USD. Change = % change of the "
                           "currency's value against the dollar since the last fixing of the previous year; "
                           "rank 1 = strongest."),
    ("Policy rates", "Latest rate known on D per central bank (BIS WS_CBPOL; Russia: the Bank of Russia key "
                     "rate); changes in percentage points against the value in force 3 and 12 months "
                     "before D; rank 1 = highest rate. BIS data are published with a lag, so rows can be old."),
    ("Extraordinary key-rate decision", "A change of 200 bp or more, or one that does not follow a scheduled "
                                        "board meeting (schedule: config/cbr_meetings.toml)."),
    ("Statements", "t0 = the first Bank of Russia fixing that can reflect the statement; Δindex over [−k, +k]; "
                   "abnormal = actual minus an AR(1) forecast estimated before the window; p = placebo "
                   "p-value from random days matched on regime and weekday; q = Benjamini–Hochberg q-value "
                   "across the catalogue; confounded = a key-rate decision, sanctions package or exchange "
                   "closure within ±k business days."),
    ("Stale source", "A source is stale when its newest observation known on D is overdue (period + "
                     "publication lag + [report] stale_days business days), or when no fetch succeeded "
                     "within its stale_days."),
]


def method_notes(b: "ContextBuilder", ctx: dict[str, Any]) -> dict[str, Any]:
    comp = b.settings["compute"]
    return {
        "definitions": [{"term": t, "definition": d} for t, d in DEFINITIONS],
        "index_spec": {"ewma_lambda": comp["ewma_lambda"], "burn_in": comp["burn_in"],
                       "weights": dict(comp["weights"]) or "equal"},
        "headline_model": ctx["headline"]["model_id"],
    }


def collect_warnings(ctx: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    head = ctx["headline"]
    if not head.get("available"):
        out.append({"level": "error", "topic": "regimes", "text": head.get("message") or "no regime model run"})
    model = ctx.get("model") or {}
    if model.get("converged") is False:
        out.append({"level": "warning", "topic": "regimes",
                    "text": f"the fit of model {model.get('id')} did not converge; treat probabilities with care"})
    if model.get("fallback"):
        out.append({"level": "warning", "topic": "regimes",
                    "text": f"the latest fit of model {model.get('id')} was rejected "
                            f"({model.get('rejection') or 'degenerate'}); the last accepted parameters are used"})
    if not ctx["stress_index"].get("available"):
        out.append({"level": "warning", "topic": "index", "text": ctx["stress_index"]["message"]})
    for row in ctx["freshness"]["rows"]:
        if row["stale"]:
            out.append({"level": "warning", "topic": "freshness",
                        "text": f"source {row['source']} is stale: {row['stale_reason']}"})
        if row.get("last_error"):
            out.append({"level": "warning", "topic": "freshness",
                        "text": f"source {row['source']}: last fetch failed at {row['last_error_at']}: "
                                f"{row['last_error']}"})
    empty = [r["source"] for r in ctx["freshness"]["rows"] if r["status"] == "no data"]
    if empty:
        out.append({"level": "info", "topic": "freshness",
                    "text": "enabled sources with no data known on this date: " + ", ".join(empty)})
    league = ctx["em_league"]
    if league.get("missing"):
        out.append({"level": "info", "topic": "em_league",
                    "text": "currencies without Bank of Russia rates in the store: " + ", ".join(league["missing"])
                            + "; " + league["hint"]})
    if not ctx["statements"].get("available"):
        out.append({"level": "info", "topic": "statements", "text": ctx["statements"]["message"]})
    for text in ctx["statements"].get("warnings") or []:
        out.append({"level": "info", "topic": "statements", "text": text})
    return out


# ---------------------------------------------------------------------------------------------
# Chart specs
# ---------------------------------------------------------------------------------------------
SOURCE_NAMES = {"cbr": "Bank of Russia", "bis": "BIS central bank policy rates", "imf": "IMF IMTS",
                "comtrade": "UN Comtrade", "fred": "FRED", "moex": "Moscow Exchange"}


def _shading(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["start"], e["end"]) for e in ctx["headline"].get("episodes") or [] if e.get("start") and e.get("end")]


def _statement_markers(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for s in ctx["statements"].get("catalogue") or []:
        speaker = (s.get("speaker") or "").split(";")[0].strip()
        surname = speaker.split()[-1] if speaker else ""
        phrase = s.get("key_phrase") or ""
        short_phrase = phrase if len(phrase) <= 30 else phrase[:28].rstrip() + "…"
        label = f"{s['n']} {surname}".strip() + (f": “{short_phrase}”" if short_phrase else "")
        out.append({"date": s.get("t0") or s["date"], "label": label, "short": str(s["n"])})
    return out


def chart_specs(b: "ContextBuilder", day: dt.date, ctx: dict[str, Any]) -> list[ChartSpec]:
    asof = day.isoformat()
    charts: list[ChartSpec] = []
    head = ctx["headline"]
    model_note = f"shaded: stress regime of model {head.get('model_id')} (smoothed P > 0.5, run as of {asof})" \
        if head.get("episodes") else "no stress-regime shading (no model run as of this date)"
    idx = b.reader.read(STRESS_INDEX, day, start=_years_before(day, 10))
    if not idx.empty:
        markers = _statement_markers(ctx)
        for cid, years, label in (("stress_10y", 10, "10 years"), ("stress_1y", 1, "12 months")):
            part = idx.loc[pd.Timestamp(_years_before(day, years)):]
            charts.append(ChartSpec(
                id=cid, kind="line", title=f"Composite stress index, last {label}",
                subtitle=model_note + ("; dashed lines: catalogue statements" if markers else ""),
                ylabel="Stress index (0 = calm, 1 = extreme)",
                source="stresswatch composite (stress.index) from Bank of Russia and other fetched series",
                asof=asof, series={"stress index": points(part)}, shading=_shading(ctx), markers=markers,
                start=_years_before(day, years).isoformat(),
                alt=(f"Line chart of the composite stress index over the last {label} to {asof}; latest value "
                     f"{ctx['stress_index']['value']:.3f} on {ctx['stress_index']['date']}"
                     + (f"; {len(_shading(ctx))} stress periods shaded" if head.get("episodes") else "")
                     + (f"; {len(markers)} statements marked" if markers else "") + ".")))
        contrib_ids = b.reader.ids("stress.contrib.")
        contrib = {sid.split(".", 2)[2]: points(b.reader.read(sid, day, start=_years_before(day, 2)))
                   for sid in contrib_ids}
        contrib = {k: v for k, v in contrib.items() if v[0]}
        if contrib:
            charts.append(ChartSpec(
                id="contributions", kind="stack", title="What drives the index: segment contributions, 2 years",
                subtitle="stacked contributions add up to the composite index",
                ylabel="Contribution to the index", source="stresswatch (stress.contrib.*)", asof=asof,
                series=contrib,
                alt="Stacked area chart of the stress index's segment contributions over two years: "
                    + ", ".join(contrib) + "."))
    fx = {}
    for ccy in FX_HEADLINE:
        s = b.reader.read(f"cbr.fx.{ccy}", day, start=_years_before(day, 3))
        if not s.empty:
            fx[f"RUB per {ccy}"] = points(s)
    if fx:
        latest = "; ".join(f"{r['currency']} {r['rate']:.4f}" for r in ctx["fx"] if r.get("available"))
        charts.append(ChartSpec(
            id="fx", kind="fx", title="Ruble official exchange rates, 3 years",
            subtitle="rubles per unit of foreign currency (higher = weaker ruble)",
            ylabel="Rubles per unit of foreign currency",
            source="Bank of Russia official rates (" + ", ".join(f"cbr.fx.{c}" for c in FX_HEADLINE) + ")",
            asof=asof, series=fx, alt=f"Three panels of ruble exchange rates over three years; latest {latest}."))
    kr = b.reader.read(KEYRATE, day, start=_years_before(day, 10))
    if not kr.empty:
        decisions = [d for d in ctx["keyrate"].get("decisions", []) if d["date"] >= iso(kr.index[0])]
        n_extra = sum(1 for d in decisions if d["extraordinary"])
        # extend the step to D so the last rate is visible as in force
        pts = points(pd.concat([kr, pd.Series([kr.iloc[-1]], index=[pd.Timestamp(day)])])
                     if kr.index[-1] < pd.Timestamp(day) else kr)
        charts.append(ChartSpec(
            id="keyrate", kind="step", title="Bank of Russia key rate, 10 years", step=True,
            subtitle="dots: decisions; red diamonds: extraordinary decisions", ylabel="Percent per year",
            source="Bank of Russia key rate (cbr.keyrate); meeting schedule config/cbr_meetings.toml", asof=asof,
            series={"key rate": pts},
            markers=[{"date": d["date"], "value": d["new"], "highlight": d["extraordinary"],
                      "label": f"{d['date']}: {d['old']:g}→{d['new']:g}%"} for d in decisions],
            alt=(f"Step chart of the key rate over ten years, now {ctx['keyrate']['value']:g}% "
                 f"({len(decisions)} decisions, {n_extra} extraordinary).")))
    league = ctx["em_league"]
    if league.get("rows"):
        charts.append(ChartSpec(
            id="em_league", kind="bars", title=f"Emerging-market currencies against the US dollar, {day.year} to date",
            subtitle="change of each currency's value in US dollars; red = ruble", ylabel="",
            xlabel="% change of value against USD since the last fixing of the previous year",
            source="Bank of Russia official rates, cross rates via cbr.fx.USD", asof=asof,
            bars=[(r["currency"], r["pct_value_vs_usd"], r["currency"] == "RUB") for r in league["rows"]],
            alt=("Bar chart of year-to-date changes against the US dollar: "
                 + ", ".join(f"{r['currency']} {r['pct_value_vs_usd']:+.1f}%" for r in league["rows"]) + ".")))
    trade_rows = ctx["trade"].get("rows") or []
    if trade_rows:
        series = {}
        for r in trade_rows:
            s = b.reader.read(r["series"], day, start=_years_before(day, 10))
            series[r["name"]] = points(s / 1e9)
        charts.append(ChartSpec(
            id="trade", kind="trade", title="China–Russia trade, monthly", ylabel="Billion US dollars per month",
            source=", ".join(sorted({SOURCE_NAMES.get(r['series'].split('.')[0], r['series']) for r in trade_rows}))
            + " (" + ", ".join(r["series"] for r in trade_rows) + ")",
            asof=asof, series=series,
            alt="Line chart of monthly China–Russia trade: " + "; ".join(
                f"{r['name']} {r['value'] / 1e9:.1f} bn USD in {r['date'][:7]}" for r in trade_rows) + "."))
    return charts


def _headline_from_state(b: "ContextBuilder", state: RegimeState, base: dict[str, Any]) -> dict[str, Any]:
    """Headline from the regime state as of D: the regime of the run's last period (most likely by
    filtered probability), its run length, expected duration, the 5- and 20-business-day forecast,
    stress episodes (smoothed) and the model description."""
    run, fit, spec = state.run, state.fit, state.spec
    assert run is not None and fit is not None and spec is not None
    k = spec.k_regimes
    names = list(spec.regime_names)
    episodes_out = [{"start": iso(e.start), "end": iso(e.end), "peak": iso(e.peak), "peak_p": num(e.peak_p),
                     "mean_p": num(e.mean_p), "length": int(e.length), "ongoing": e.ongoing}
                    for e in state.episodes("smoothed")]
    params = run.params

    def param(name: str) -> float | None:
        return num(params.get(name))

    regimes_out = []
    for i, label in enumerate(names):
        regimes_out.append({
            "label": label,
            "mean": param(f"const[{i}]") if f"const[{i}]" in params else param("const"),
            "variance": param(f"sigma2[{i}]") if f"sigma2[{i}]" in params else param("sigma2"),
            "p_stay": num(run.transition[i, i]), "expected_duration": num(run.durations[i])})
    switches = [w for w, on in (("mean", spec.switching_mean), ("variance", spec.switching_variance)) if on]
    model = {
        "id": state.model_id, "series": spec.series, "transform": spec.transform, "k_regimes": k,
        "frequency": spec.frequency, "frequency_name": "weekly" if state.weekly else "daily (observation calendar)",
        "spec_text": (f"Markov-switching {'autoregression of order ' + str(spec.order) if spec.order else 'regression'} "
                      f"with {k} regimes, switching {' and '.join(switches) or 'nothing'}"),
        "run_id": run.id, "run_asof": iso(run.asof), "run_kind": run.kind, "fit_run_id": fit.id,
        "fitted_on": iso(fit.asof), "sample_start": iso(run.data_first), "sample_end": iso(run.data_last),
        "nobs": run.n, "data_asof": iso(run.data_vintage), "llf": num(run.llf), "aic": num(run.aic),
        "bic": num(run.bic), "converged": bool(run.converged), "accepted": bool(run.accepted),
        "fallback": bool(run.fallback or fit.fallback),
        "rejection": "; ".join(list(run.reasons) or list(fit.reasons)) if (run.fallback or fit.fallback) else "",
        "regimes": regimes_out,
    }
    previous = state.previous()
    base.update({
        "available": True, "message": "", "run_asof": iso(run.asof), "last_observation": iso(state.last_observation),
        "k_regimes": k, "regimes": names, "regime": state.regime, "regime_index": state.regime_index,
        "is_stress": state.is_stress,
        "p_stress_filtered": num(state.p_stress_filtered),
        "p_stress_smoothed": num(state.p_stress_smoothed),
        "p_filtered": {name: num(p) for name, p in state.p_filtered.items()},
        "days_in_regime": state.days_in_regime,
        "regime_periods": state.regime_periods,
        "regime_since": iso(state.regime_since),
        "expected_duration": num(state.expected_duration),
        "period_unit": state.period_unit,
        "p_stress_h5": num(state.p_stress_in(5)), "p_stress_h20": num(state.p_stress_in(20)),
        "forecast_steps": {str(h): n for h, n in state.forecast_steps.items()},
        "previous_observation": ({"date": iso(previous["date"]), "regime": previous["regime"],
                                  "p_stress_filtered": num(previous["p_stress_filtered"])} if previous else None),
        "episodes": episodes_out, "model": model,
    })
    return base


NEAR_DAYS = 30


def _statements_from_events(b: "ContextBuilder", day: dt.date) -> dict[str, Any]:
    from stresswatch.events import align as ev_align

    stmts = b.memo("statements", lambda: ev_align.load_statements(b.settings))
    known = sorted((s for s in stmts if s.date <= day), key=lambda s: (s.date, s.id))
    by_id = {s.id: s for s in known}
    number = {s.id: n for n, s in enumerate(known, 1)}
    k = int(b.settings["events"]["k"])
    window_start = day - dt.timedelta(days=NEAR_DAYS)
    out: dict[str, Any] = {"available": True, "message": "", "k": k,
                           "near_window": f"statements dated {window_start} to {day}",
                           "near": [], "catalogue": [], "aggregate": [], "warnings": []}
    if not known:
        out["message"] = f"no catalogue statement is dated on or before {day}"
        return out
    alignment = ev_align.stored_or_align(b.store, b.settings, day, statements=known, state=b.regime(day))
    out["warnings"] = list(alignment.warnings)
    rows = []
    for r in alignment.rows():
        s = by_id.get(r["id"])
        rows.append({
            "n": number.get(r["id"]), "id": r["id"], "date": iso(r["date"]), "t0": iso(r.get("t0")),
            "speaker": r.get("speaker"), "role": s.role if s else "", "summary": s.summary if s else "",
            "key_phrase": r.get("key_phrase"), "tags": [t for t in str(r.get("tags") or "").split(",") if t],
            "source": s.source.outlet if s else "", "url": s.source.url if s else "",
            "regime": r.get("regime"), "p_stress_filtered": num(r.get("p_stress_filtered")),
            "p_stress_smoothed": num(r.get("p_stress_smoothed")), "index": num(r.get("index")),
            "index_percentile": num(r.get("index_percentile")), "d_index": num(r.get("d_index")),
            "abnormal": num(r.get("abnormal")), "pre_trend": num(r.get("pre_trend")),
            "car_rub": num(r.get("car_rub")), "p_value": num(r.get("p_value")), "q_value": num(r.get("q_value")),
            "confounded": bool(r.get("confounded")),
            "confounders": ", ".join(c for c in str(r.get("confounders") or "").split(",") if c),
        })
    rows.sort(key=lambda r: (r["n"] or 0))
    out["catalogue"] = rows
    out["near"] = [r for r in rows if r["date"] >= window_start.isoformat()][::-1]
    out["aggregate"] = [{"group": a["group"], "n": int(a["n"]), "n_used": int(a["n_used"]),
                         "mean_abnormal": num(a["mean_abnormal"]), "mean_d_index": num(a["mean_d_index"]),
                         "mean_car_rub": num(a["mean_car_rub"]), "confounded": int(a["confounded"]),
                         "p_value": num(a["p_value"])} for a in alignment.result.aggregates.to_dict("records")]
    out["statistic"] = alignment.result.statistic
    return out
