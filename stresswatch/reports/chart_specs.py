"""The chart specs of a report: what `reports.charts` draws for D, built from the context and the
series as known on D. Each spec carries its title, axis labels, source line, alt text, data
points, stress shading (the headline model's episodes) and markers (statements, key-rate
decisions)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from stresswatch.reports.charts import ChartSpec
from stresswatch.reports.reader import SeriesReader
from stresswatch.reports.sections.fx import FX_HEADLINE
from stresswatch.reports.sections.rates import KEYRATE
from stresswatch.reports.sections.stress_index import STRESS_INDEX
from stresswatch.reports.values import iso, points, years_before

#: display names of the sources, for the charts' source lines
SOURCE_NAMES = {"cbr": "Bank of Russia", "bis": "BIS central bank policy rates", "imf": "IMF IMTS",
                "comtrade": "UN Comtrade", "fred": "FRED", "moex": "Moscow Exchange"}


def _shading(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    """The stress episodes of the headline as (start, end) spans to shade."""
    return [(e["start"], e["end"]) for e in ctx["headline"].get("episodes") or [] if e.get("start") and e.get("end")]


def _statement_markers(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    """One marker per catalogue statement: its number, the speaker's surname and a short phrase."""
    out = []
    for s in ctx["statements"].get("catalogue") or []:
        speaker = (s.get("speaker") or "").split(";")[0].strip()
        surname = speaker.split()[-1] if speaker else ""
        phrase = s.get("key_phrase") or ""
        short_phrase = phrase if len(phrase) <= 30 else phrase[:28].rstrip() + "…"
        label = f"{s['n']} {surname}".strip() + (f": “{short_phrase}”" if short_phrase else "")
        out.append({"date": s.get("t0") or s["date"], "label": label, "short": str(s["n"])})
    return out


def chart_specs(reader: SeriesReader, day: dt.date, ctx: dict[str, Any]) -> list[ChartSpec]:
    """The chart specs of the report for D, from the built context `ctx` and the series as known on D
    (stress index 10 y and 12 m, contributions, ruble rates, key rate, EM league, trade); a chart
    whose data is missing is left out."""
    asof = day.isoformat()
    charts: list[ChartSpec] = []
    head = ctx["headline"]
    model_note = f"shaded: stress regime of model {head.get('model_id')} (filtered P(stress) > 0.5, run as of {asof})" \
        if head.get("episodes") else "no stress-regime shading (no model run as of this date)"
    idx = reader.read(STRESS_INDEX, day, start=years_before(day, 10))
    if not idx.empty:
        markers = _statement_markers(ctx)
        for cid, years, label in (("stress_10y", 10, "10 years"), ("stress_1y", 1, "12 months")):
            part = idx.loc[pd.Timestamp(years_before(day, years)):]
            charts.append(ChartSpec(
                id=cid, kind="line", title=f"Composite stress index, last {label}",
                subtitle=model_note + ("; dashed lines: catalogue statements" if markers else ""),
                ylabel="Stress index (0 = calm, 1 = extreme)",
                source="stresswatch composite (stress.index) from Bank of Russia and other fetched series",
                asof=asof, series={"stress index": points(part)}, shading=_shading(ctx), markers=markers,
                start=years_before(day, years).isoformat(),
                alt=(f"Line chart of the composite stress index over the last {label} to {asof}; latest value "
                     f"{ctx['stress_index']['value']:.3f} on {ctx['stress_index']['date']}"
                     + (f"; {len(_shading(ctx))} stress periods shaded" if head.get("episodes") else "")
                     + (f"; {len(markers)} statements marked" if markers else "") + ".")))
        contrib_ids = reader.ids("stress.contrib.")
        contrib = {sid.split(".", 2)[2]: points(reader.read(sid, day, start=years_before(day, 2)))
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
        s = reader.read(f"cbr.fx.{ccy}", day, start=years_before(day, 3))
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
    kr = reader.read(KEYRATE, day, start=years_before(day, 10))
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
            s = reader.read(r["series"], day, start=years_before(day, 10))
            series[r["name"]] = points(s / 1e9)
        charts.append(ChartSpec(
            id="trade", kind="trade", title="China–Russia trade, monthly", ylabel="Billion US dollars per month",
            source=", ".join(sorted({SOURCE_NAMES.get(r['series'].split('.')[0], r['series']) for r in trade_rows}))
            + " (" + ", ".join(r["series"] for r in trade_rows) + ")",
            asof=asof, series=series,
            alt="Line chart of monthly China–Russia trade: " + "; ".join(
                f"{r['name']} {r['value'] / 1e9:.1f} bn USD in {r['date'][:7]}" for r in trade_rows) + "."))
    return charts
