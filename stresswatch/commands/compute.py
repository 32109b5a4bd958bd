"""Commands of the indicators concern: `compute` (indicators, composite index, regime update as of
a date, written to the store) and `indicators list|show` (computed on the fly from stored inputs).

`compute` says what it did in words and names the series it wrote by ids `indicators show` (and
`series show`) accept; `indicators show` takes an indicator id with or without the stored `ind.`
prefix. Compute, the indicators and pandas are imported by the handlers (see
`stresswatch.commands`).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Any, Iterable

from stresswatch import output
from stresswatch.commands import add_format, command, iso_date
from stresswatch.errors import UsageError

if TYPE_CHECKING:
    from stresswatch.app.session import App
    from stresswatch.compute import ComputeResult

#: prefix of the stored indicator series (`stresswatch.compute` writes indicator X as ind.X)
STORED_PREFIX = "ind."
#: what a regime update did (`regimes.update.RunSummary.status`), in words
REGIME_WORDS = {
    "cold": "fitted from scratch",
    "warm": "refitted, starting from its last parameters",
    "filter": "updated with its stored parameters (no refit due)",
    "existing": "already up to date for this date",
    "skipped": "skipped: too little data",
    "failed": "failed",
}


def indicator_id(name: str) -> str:
    """The indicator id for a name as printed by `compute` / `series list` (`ind.fx.rv20.USD`) or
    as registered (`fx.rv20.USD`); stress.* ids unchanged."""
    return name[len(STORED_PREFIX):] if name.startswith(STORED_PREFIX) else name


def regimes_in_words(summary: str) -> list[str]:
    """`ComputeResult.regimes` ("ruble3: filter; stress: warm") as one sentence per model."""
    if summary in ("not run", "no models", "failed"):
        return [{"not run": "not run", "no models": "no models configured", "failed": "failed"}[summary]]
    out = []
    for part in summary.split("; "):
        model, _, status = part.partition(": ")
        out.append(f"{model}: {REGIME_WORDS.get(status, status)}" if status else part)
    return out


def summary_rows(day: dt.date, result: ComputeResult) -> list[dict[str, Any]]:
    """`compute` as item/value rows: the index and its parts (by the ids `indicators show`
    accepts), what was written, how (appended to the stored state or recomputed, from which day,
    why), and what each regime model did."""
    rows: list[dict[str, Any]] = [{"item": "as of", "value": day}]
    latest = result.latest()
    if latest:
        rows.append({"item": "index computed up to", "value": latest["date"]})
        for key, value in latest.items():
            if key != "date":
                rows.append({"item": key if key.startswith("stress.") else f"stress.{key}", "value": value})
    else:
        rows.append({"item": "stress.index", "value": "not computed (no Bank of Russia data as of this date)"})
    changed = sorted(sid for sid, n in result.written.items() if n)
    rows.append({"item": "written", "value": f"{result.rows} new or revised values in {len(changed)} series; "
                                             f"{len(result.written) - len(changed)} series unchanged"})
    rows.append({"item": "computed", "value": f"{result.mode} from {result.recomputed_from} ({result.reason})"})
    for line in regimes_in_words(result.regimes):
        rows.append({"item": "regime model", "value": line})
    return rows


def cmd_compute(args, app: App) -> int:
    from stresswatch.compute import compute

    day = args.asof or app.today()
    with app.lock("compute"):
        result = compute(app.store(), app.settings, day)
    if args.format == "json":
        app.out.write(output.to_json(output.clean({
            "asof": day, "inputs": result.inputs, "segments": result.segments, "written": result.written,
            "latest": result.latest(), "regimes": result.regimes, "regimes_error": result.regimes_error,
            "mode": result.mode, "reason": result.reason, "recomputed_from": result.recomputed_from,
            "revised_days": result.revised_days, "warnings": result.warnings})) + "\n")
    else:
        output.emit(summary_rows(day, result), ["item", "value"], args.format, app.out)
        if args.format == "table":
            changed = [{"series": sid, "values written": n} for sid, n in sorted(result.written.items()) if n]
            if changed:
                app.out.write("\nseries written (see them with `stresswatch indicators show SERIES`)\n")
                output.emit(changed, ["series", "values written"], "table", app.out)
    for w in result.warnings:
        print(f"stresswatch: warning: {w}", file=sys.stderr)
    if result.regimes_error:
        print(f"stresswatch: error: regime update: {result.regimes_error}", file=sys.stderr)
        return 1
    return 0 if result.composite is not None else 1


def cmd_list(args, app: App) -> int:
    from stresswatch.indicators import expand, load_all

    registry = load_all()
    available: set[str] = set()
    concrete: dict[str, list[str]] = {}
    if app.settings.store_path.exists():
        available = {s["id"] for s in app.store().observations.list_series()}
        for cid, ind, _ in expand(available):
            concrete.setdefault(ind.id, []).append(cid)
    rows = []
    for ind in registry.values():
        ids = concrete.get(ind.id, [])
        rows.append({"id": ind.id, "family": ind.family, "unit": ind.unit, "inputs": " ".join(ind.inputs),
                     "available": " ".join(ids) if ids else "-", "description": ind.summary})
    for sid in ("stress.index", "stress.index.pct", "stress.index.coverage", "stress.corr", "stress.emp",
                "stress.segment.{name}", "stress.contrib.{name}", "stress.beside.{name}"):
        rows.append({"id": sid, "family": "composite", "unit": "", "inputs": "cbr.fx.* cbr.keyrate (+ others)",
                     "available": "-", "description": "composite stress index series (see docs/indicators.md)"})
    output.emit(rows, ["id", "family", "unit", "inputs", "available", "description"], args.format, app.out)
    return 0


def cmd_show(args, app: App) -> int:
    from stresswatch.compute import show

    day = args.asof or app.today()
    if args.start and args.end and args.start > args.end:
        raise UsageError(f"--start {args.start} is after --end {args.end}")
    frame = show(app.store(), app.settings, indicator_id(args.id), day)
    if args.start:
        frame = frame[frame["date"] >= str(args.start)]
    if args.end:
        frame = frame[frame["date"] <= str(args.end)]
    rows = [{"date": d.date(), "value": float(v), "known": k.date()}
            for d, v, k in zip(frame["date"], frame["value"], frame["known"])]
    output.emit(rows, ["date", "value", "known"], args.format, app.out)
    return 0


def compute_first(app: App, days: Iterable[dt.date]) -> None:
    """Before a command reads the analysis for `days`: compute the dates the stored analysis does
    not cover (`app.analysis.ensure_computed`), saying so on stderr."""
    from stresswatch.app.analysis import ensure_computed

    def announce(day: dt.date, why: list[str]) -> None:
        print(f"stresswatch: computing the analysis as of {day} first ({'; '.join(why)})", file=sys.stderr)

    for done in ensure_computed(app, days, before=announce):
        if done.result.regimes_error:
            print(f"stresswatch: warning: regimes as of {done.day}: {done.result.regimes_error}", file=sys.stderr)


def register(sub) -> None:
    p = command(sub, "compute", "Compute indicators, the composite stress index and regimes as of a date",
                "stresswatch compute --asof 2023-08-15", cmd_compute)
    p.add_argument("--asof", type=iso_date, help="date of the computation (default: today); only data known "
                                                  "by then is used")
    add_format(p)

    ind = command(sub, "indicators", "List indicators or show one, computed on the fly from stored inputs.",
                  "stresswatch indicators list\n"
                  "  stresswatch indicators show fx.dep.rub_per_unit.ytd.USD --asof 2023-08-15\n"
                  "  stresswatch indicators show stress.index --start 2022-02-01 --format csv", None)
    ind_sub = ind.add_subparsers(dest="indicators_command", metavar="SUBCOMMAND", required=True)
    p = command(ind_sub, "list", "List the registered indicators and which are computable from the store",
                "stresswatch indicators list --format csv", cmd_list)
    add_format(p)
    p = command(ind_sub, "show", "Show one indicator (or a stress.* series) computed as of a date",
                "stresswatch indicators show fx.rv20.USD --asof 2014-12-17 --start 2014-12-01", cmd_show)
    p.add_argument("id", help="indicator id, e.g. fx.cmax.USD (or its stored name ind.fx.cmax.USD, as "
                              "`compute` prints it), policy.extraordinary, stress.index, stress.segment.fx")
    p.add_argument("--asof", type=iso_date, help="use only data known by this date (default: today)")
    p.add_argument("--start", type=iso_date, help="first date shown")
    p.add_argument("--end", type=iso_date, help="last date shown")
    add_format(p)
